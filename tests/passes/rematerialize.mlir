// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize=checkpoint-every=1 | FileCheck %s --check-prefixes=CHECK,EVERY1
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize=checkpoint-every=2 | FileCheck %s --check-prefixes=CHECK,EVERY2
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize | FileCheck %s --check-prefix=NONE
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=2 checkpoint-phase=1" | FileCheck %s --check-prefix=PHASE1
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=2 extra-checkpoints=1" | FileCheck %s --check-prefix=EXTRA
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=1 keep-expensive" | FileCheck %s --check-prefix=CHEAP
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=1 keep-regions=1" | FileCheck %s --check-prefix=KEPT

// Two paths (regions 0 and 1) of a dual-path step, two row chunks each.
func.func @train_step(%g: tensor<8xf32> {loco.param = "freq.gamma"},
                      %h: tensor<8xf32> {loco.param = "time.gamma"},
                      %x: tensor<2x3x4x8xf32> {loco.input = "mixture"})
    -> (tensor<f32> {loco.name = "total_loss"}) {
  %r = loco.reshape %x : tensor<2x3x4x8xf32> -> tensor<6x4x8xf32>
  %n = loco.rms_group_norm %r, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<6x4x8xf32>, tensor<8xf32>) -> tensor<6x4x8xf32>
  %s = loco.silu %n : tensor<6x4x8xf32>
  %b = loco.reshape %s : tensor<6x4x8xf32> -> tensor<2x3x4x8xf32>
  %t = loco.transpose %b {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x3x4x8xf32>) -> tensor<2x4x3x8xf32>
  %r2 = loco.reshape %t : tensor<2x4x3x8xf32> -> tensor<8x3x8xf32>
  %n2 = loco.rms_group_norm %r2, %h {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<8x3x8xf32>, tensor<8xf32>) -> tensor<8x3x8xf32>
  %s2 = loco.silu %n2 : tensor<8x3x8xf32>
  %l = loco.reduce_sum %s2 {dims = array<i64: 0, 1, 2>} : (tensor<8x3x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// The decisions and their price, on the module.
// EVERY1: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 1 : i64, checkpoint_phase = 0 : i64, extra_checkpoints = 0 : i64, keep_expensive = false, keep_narrow = false, keep_segment = true, kept_regions = 0 : i64, rebuild_prologue = false, recompute_bytes = {{[1-9][0-9]*}} : i64, recompute_flops = {{[1-9][0-9]*}} : i64, recomputed_ops = 8 : i64
// EVERY2: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 2 : i64, checkpoint_phase = 0 : i64, extra_checkpoints = 0 : i64, keep_expensive = false
// CHEAP: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 1 : i64, checkpoint_phase = 0 : i64, extra_checkpoints = 0 : i64, keep_expensive = true
// NONE: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 0 : i64, checkpoint_phase = 0 : i64, extra_checkpoints = 0 : i64, keep_expensive = false, keep_narrow = false, keep_segment = true, kept_regions = 0 : i64, rebuild_prologue = false, recompute_bytes = 0 : i64, recompute_flops = 0 : i64, recomputed_ops = 0 : i64

// The forward pass is untouched; the backward starts with region 1's last
// chunk.
// CHECK: %[[R:.*]] = loco.reshape %{{.*}} -> tensor<6x4x8xf32>
// CHECK: %[[R2:.*]] = loco.reshape %{{.*}} : tensor<2x4x3x8xf32> -> tensor<8x3x8xf32>
// CHECK: loco.fill {loco.backward

// Every region input is a checkpoint: region 1's chunk 1 rows are sliced
// from the kept input and its norm and silu recomputed for their gradients.
// EVERY1: %[[C11:.*]] = loco.slice %[[R2]] {dim = 0 : i64, loco.recompute, size = 4 : i64, start = 4 : i64}
// EVERY1: %[[N11:.*]] = loco.rms_group_norm %[[C11]], {{.*}}loco.recompute
// EVERY1: loco.silu_backward %[[N11]]
// EVERY1: loco.rms_group_norm_backward %[[C11]]
// Region 0's chunks come from its own kept input.
// EVERY1: loco.slice %[[R]] {dim = 0 : i64, loco.recompute, size = 3 : i64, start = 3 : i64}
// EVERY1: loco.slice %[[R]] {dim = 0 : i64, loco.recompute, size = 3 : i64, start = 0 : i64}

// Only region 0's input is a checkpoint: region 1's input is rebuilt once,
// from region 0's chunks (a concat of recomputed chunks), then sliced.
// EVERY2: %[[A:.*]] = loco.slice %[[R]] {dim = 0 : i64, loco.recompute, size = 3 : i64, start = 0 : i64}
// EVERY2: %[[B:.*]] = loco.slice %[[R]] {dim = 0 : i64, loco.recompute, size = 3 : i64, start = 3 : i64}
// EVERY2: %[[CAT:.*]] = loco.concat {{.*}}loco.recompute
// EVERY2: %[[BACK:.*]] = loco.reshape %[[CAT]] {loco.recompute}
// EVERY2: %[[T:.*]] = loco.transpose %[[BACK]] {loco.recompute
// EVERY2: %[[IN1:.*]] = loco.reshape %[[T]] {loco.recompute} : tensor<2x4x3x8xf32> -> tensor<8x3x8xf32>
// EVERY2: loco.slice %[[IN1]] {dim = 0 : i64, loco.recompute, size = 4 : i64, start = 4 : i64}
// The rebuilt input serves the second chunk too: no second concat.
// EVERY2: loco.slice %[[IN1]] {dim = 0 : i64, loco.recompute, size = 4 : i64, start = 0 : i64}
// EVERY2-NOT: loco.concat {{.*}}loco.recompute

// Phase 1: region 1's input is the checkpoint (region 0's input precedes
// every region and is kept): region 1 is sliced from it, nothing rebuilds
// region 0 forward to reach it.
// PHASE1: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 2 : i64, checkpoint_phase = 1 : i64
// PHASE1: %[[R2:.*]] = loco.reshape %{{.*}} : tensor<2x4x3x8xf32> -> tensor<8x3x8xf32>
// PHASE1: loco.slice %[[R2]] {dim = 0 : i64, loco.recompute, size = 4 : i64, start = 4 : i64}
// PHASE1-NOT: loco.concat {{.*}}loco.recompute

// One extra checkpoint: region 1's input is kept as well, so nothing
// rebuilds region 0's forward to reach it.
// EXTRA: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 2 : i64, checkpoint_phase = 0 : i64, extra_checkpoints = 1 : i64
// EXTRA-NOT: loco.concat {{.*}}loco.recompute

// Without remat, the backward reads the forward's values directly.
// NONE-NOT: loco.recompute

// Cheap ops only: the norms (5 flops per element) are rebuilt, but nothing
// that costs 16 flops per element or more; here every op is cheap, so the
// result is the full recomputation's.
// CHEAP: loco.rms_group_norm {{.*}}loco.recompute

// keep-regions=1: the last region (the time path, region 1, whose backward
// runs first) recomputes nothing; region 0 rebuilds its two chunks as with
// checkpoint-every=1 (half of EVERY1's eight ops).
// KEPT: loco.remat = {{{.*}}kept_regions = 1 : i64{{.*}}recomputed_ops = 4 : i64
// KEPT-NOT: loco.chunk = array<i64: 1, {{[0-9]+}}>, loco.recompute
// KEPT: loco.rms_group_norm {{.*}}loco.chunk = array<i64: 0, 1>, loco.recompute
// KEPT: loco.rms_group_norm {{.*}}loco.chunk = array<i64: 0, 0>, loco.recompute
// KEPT-NOT: loco.chunk = array<i64: 1, {{[0-9]+}}>, loco.recompute
