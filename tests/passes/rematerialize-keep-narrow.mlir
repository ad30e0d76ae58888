// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=1 keep-narrow" | FileCheck %s --check-prefix=NARROW
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=1 keep-expensive" | FileCheck %s --check-prefix=EXPENSIVE
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="checkpoint-every=1" | FileCheck %s --check-prefix=ALL
// RUN: loco-opt %s -loco-chunk-rows=chunks=2 -loco-autodiff -loco-rematerialize="keep-narrow" | FileCheck %s --check-prefix=NONE

// One path (region 0, two row chunks of 3 rows) with a wide contraction
// (8 -> 24 channels: 3x the region input) and a narrow one back to the
// embedding (24 -> 8: 1x). Both results are read by the backward (the SiLU
// gradients), so whatever is not kept is rebuilt.
func.func @train_step(%g: tensor<8xf32> {loco.param = "gamma"},
                      %w1: tensor<24x8xf32> {loco.param = "up.weight"},
                      %w2: tensor<8x24xf32> {loco.param = "down.weight"},
                      %x: tensor<2x3x4x8xf32> {loco.input = "mixture"})
    -> (tensor<f32> {loco.name = "total_loss"}) {
  %r = loco.reshape %x : tensor<2x3x4x8xf32> -> tensor<6x4x8xf32>
  %n = loco.rms_group_norm %r, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<6x4x8xf32>, tensor<8xf32>) -> tensor<6x4x8xf32>
  %up = loco.linear %n, %w1 : (tensor<6x4x8xf32>, tensor<24x8xf32>) -> tensor<6x4x24xf32>
  %s = loco.silu %up : tensor<6x4x24xf32>
  %down = loco.linear %s, %w2 : (tensor<6x4x24xf32>, tensor<8x24xf32>) -> tensor<6x4x8xf32>
  %q = loco.silu %down : tensor<6x4x8xf32>
  %l = loco.reduce_sum %q {dims = array<i64: 0, 1, 2>} : (tensor<6x4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// NARROW: loco.remat = {bf16_checkpoints = 0 : i64, checkpoint_every = 1 : i64, checkpoint_phase = 0 : i64, extra_checkpoints = 0 : i64, keep_expensive = false, keep_narrow = true
// EXPENSIVE: keep_expensive = true, keep_narrow = false
// ALL: keep_expensive = false, keep_narrow = false
// Without checkpoints the option keeps nothing because nothing is rebuilt.
// NONE: keep_expensive = false, keep_narrow = false, {{.*}}recomputed_ops = 0 : i64

// The forward's chunks: the narrow projections' results stay alive.
// NARROW-LABEL: func.func @train_step
// NARROW: %[[D0:.*]] = loco.linear %{{.*}} -> tensor<3x4x8xf32>
// NARROW: %[[D1:.*]] = loco.linear %{{.*}} -> tensor<3x4x8xf32>
// The backward of chunk 1 rebuilds the norm, the wide projection and its
// SiLU, but reads the kept narrow result.
// NARROW: loco.silu_backward %[[D1]]
// NARROW: loco.slice {{.*}}loco.recompute, size = 3 : i64, start = 3 : i64
// NARROW: %[[N1:.*]] = loco.rms_group_norm {{.*}}loco.recompute
// NARROW: %[[U1:.*]] = loco.linear %[[N1]], {{.*}}loco.recompute{{.*}} -> tensor<3x4x24xf32>
// NARROW: loco.silu {{.*}}loco.recompute
// NARROW: loco.silu_backward %[[U1]]
// NARROW-NOT: loco.linear {{.*}}loco.recompute{{.*}} -> tensor<3x4x8xf32>
// NARROW: loco.silu_backward %[[D0]]
// NARROW-NOT: loco.linear {{.*}}loco.recompute{{.*}} -> tensor<3x4x8xf32>

// keep-expensive keeps both contractions; without either, both are rebuilt.
// EXPENSIVE-LABEL: func.func @train_step
// ALL-LABEL: func.func @train_step
// EXPENSIVE-NOT: loco.linear {{.*}}loco.recompute
// ALL: loco.linear {{.*}}loco.recompute{{.*}} -> tensor<3x4x24xf32>
// ALL: loco.linear {{.*}}loco.recompute{{.*}} -> tensor<3x4x8xf32>
