// RUN: loco-opt %s -loco-fuse-elementwise -loco-autocast=dtype=bf16 | FileCheck %s --check-prefix=AMP
// RUN: loco-opt %s -loco-fuse-elementwise -loco-autocast=dtype=bf16 -loco-autodiff | FileCheck %s --check-prefix=GRAD

// loco.dropout_add under loco-autocast and loco-autodiff.

// Under bf16 AMP the linear runs in bf16 and the residual stream stays
// f32: the fused op takes both as they are, with no cast between.
// AMP-LABEL: func.func @train_step
// AMP: %[[Y:.*]] = loco.linear {{.*}} -> tensor<6x4x8xbf16>
// AMP-NEXT: %{{.*}} = loco.dropout_add %{{.*}}, %[[Y]] {{.*}} : (tensor<6x4x8xf32>, tensor<6x4x8xbf16>) -> tensor<6x4x8xf32>
// The backward: the residual's cotangent passes on; the input's is the
// cotangent narrowed to bf16 and dropped out with the same key.
// GRAD: %[[G:.*]] = loco.broadcast {{.*}} -> tensor<6x4x8xf32>
// GRAD: %[[N:.*]] = loco.cast %[[G]] {loco.backward} : tensor<6x4x8xf32> to tensor<6x4x8xbf16>
// GRAD-NEXT: loco.dropout %[[N]] {loco.backward, p = 1.000000e-01 : f64, rng = #loco.rng<stream = 3>}
func.func @train_step(%w: tensor<8x8xf32> {loco.param = "proj.weight"},
                      %x: tensor<6x4x8xf32> {loco.input = "mixture"})
    -> (tensor<f32> {loco.name = "total_loss"}) {
  %y = loco.linear %x, %w : (tensor<6x4x8xf32>, tensor<8x8xf32>) -> tensor<6x4x8xf32>
  %d = loco.dropout %y {p = 1.0e-01 : f64, rng = #loco.rng<stream = 3>} : (tensor<6x4x8xf32>) -> tensor<6x4x8xf32>
  %s = loco.add %x, %d : tensor<6x4x8xf32>
  %l = loco.reduce_sum %s {dims = array<i64: 0, 1, 2>} : (tensor<6x4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

