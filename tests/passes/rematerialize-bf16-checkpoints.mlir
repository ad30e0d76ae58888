// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=1 bf16-checkpoints" | FileCheck %s
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=2 bf16-checkpoints" | FileCheck %s --check-prefix=EVERY2
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=0 bf16-checkpoints" | FileCheck %s --check-prefix=NONE

// loco-rematerialize's bf16-checkpoints: the f32 region inputs that are
// checkpoints are kept as bf16 copies made in the forward pass, and the
// backward widens one chunk's rows at a time. Two paths (regions 0 and 1)
// of a dual-path step, two row chunks each.
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

// Both region inputs are stored in bf16; the report counts them and the
// widening casts are recomputation.
// CHECK: loco.remat = {bf16_checkpoints = 2 : i64, checkpoint_every = 1 : i64
// CHECK-SAME: loco.remat_ops = {loco.cast = array<i64: 4, {{[0-9]+}}>
// EVERY2: loco.remat = {bf16_checkpoints = 1 : i64, checkpoint_every = 2 : i64
// Without recomputation nothing is a checkpoint, and nothing is cast.
// NONE: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 0 : i64
// NONE-NOT: loco.cast

// @eval_step (no backward) keeps its f32 values.
// CHECK-LABEL: func.func @eval_step
// CHECK-NOT: loco.cast
// CHECK-LABEL: func.func @train_step

// The forward: each copy is made just before its region's split, from the
// f32 input, which the split still reads.
// CHECK: %[[R:.*]] = loco.reshape %{{.*}} -> tensor<6x4x8xf32>
// CHECK: %[[LR:.*]] = loco.cast %[[R]] {loco.checkpoint} : tensor<6x4x8xf32> to tensor<6x4x8xbf16>
// CHECK-NEXT: loco.split %[[R]] {loco.region = 0 : i64
// CHECK: %[[R2:.*]] = loco.reshape %{{.*}} : tensor<2x4x3x8xf32> -> tensor<8x3x8xf32>
// CHECK: %[[LR2:.*]] = loco.cast %[[R2]] {loco.checkpoint} : tensor<8x3x8xf32> to tensor<8x3x8xbf16>
// CHECK-NEXT: loco.split %[[R2]] {loco.region = 1 : i64
// CHECK: loco.fill {loco.backward

// The backward reads only the copies: region 1's chunk 1 rows are sliced
// from the bf16 copy and widened, and the norm is recomputed and
// differentiated from the widened rows.
// CHECK-NOT: %[[R2]]
// CHECK: %[[S11:.*]] = loco.slice %[[LR2]] {dim = 0 : i64, loco.recompute, size = 4 : i64, start = 4 : i64} : (tensor<8x3x8xbf16>) -> tensor<4x3x8xbf16>
// CHECK-NEXT: %[[W11:.*]] = loco.cast %[[S11]] {loco.recompute} : tensor<4x3x8xbf16> to tensor<4x3x8xf32>
// CHECK-NEXT: loco.rms_group_norm %[[W11]], {{.*}}loco.recompute
// CHECK: loco.rms_group_norm_backward %[[W11]]
// CHECK: loco.slice %[[LR2]] {dim = 0 : i64, loco.recompute, size = 4 : i64, start = 0 : i64}
// Region 0's chunks come from its own copy; the f32 input is never read.
// CHECK-NOT: %[[R]]
// CHECK: loco.slice %[[LR]] {dim = 0 : i64, loco.recompute, size = 3 : i64, start = 3 : i64}
// CHECK: loco.slice %[[LR]] {dim = 0 : i64, loco.recompute, size = 3 : i64, start = 0 : i64}
// CHECK-NOT: %[[R]]
// CHECK: return
