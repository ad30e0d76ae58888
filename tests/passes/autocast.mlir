// RUN: loco-opt %s -loco-autocast | FileCheck %s
// RUN: loco-opt %s -loco-autocast=dtype=f16 | FileCheck %s --check-prefix=F16
// RUN: loco-opt %s -loco-autocast -loco-autodiff | FileCheck %s --check-prefix=GRAD
// RUN: not loco-opt %s -loco-autocast=dtype=f64 2>&1 | FileCheck %s --check-prefix=BAD

// torch.autocast's CUDA policy: the linear runs in bf16 (its operands cast
// down; the weight once, before everything, as autocast's weight cache),
// RoPE and the norm in f32 (operands cast up), the element-wise ops in the
// widest type of their operands, and the results keep their types.

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:.*]]: tensor<4x4xf32> {loco.param = "w"}
// CHECK-NEXT: %[[WB:.*]] = loco.cast %[[W]] : tensor<4x4xf32> to tensor<4x4xbf16>
// CHECK-NEXT: %[[N:.*]] = loco.rms_group_norm %{{.*}} : (tensor<3x2x4xf32>, tensor<4xf32>) -> tensor<3x2x4xf32>
// CHECK-NEXT: %[[NB:.*]] = loco.cast %[[N]] : tensor<3x2x4xf32> to tensor<3x2x4xbf16>
// CHECK-NEXT: %[[Y:.*]] = loco.linear %[[NB]], %[[WB]] : (tensor<3x2x4xbf16>, tensor<4x4xbf16>) -> tensor<3x2x4xbf16>
// CHECK-NEXT: %[[S:.*]] = loco.silu %[[Y]] : tensor<3x2x4xbf16>
// CHECK-NEXT: %[[Z:.*]] = loco.linear %[[S]], %[[WB]] : (tensor<3x2x4xbf16>, tensor<4x4xbf16>) -> tensor<3x2x4xbf16>
// CHECK-NEXT: %[[ZF:.*]] = loco.cast %[[Z]] : tensor<3x2x4xbf16> to tensor<3x2x4xf32>
// CHECK-NEXT: %[[R:.*]] = loco.rope %[[ZF]]
// CHECK-NEXT: %[[SF:.*]] = loco.cast %[[S]] : tensor<3x2x4xbf16> to tensor<3x2x4xf32>
// CHECK-NEXT: %[[A:.*]] = loco.add %[[R]], %[[SF]] : tensor<3x2x4xf32>
// CHECK-NEXT: %[[L:.*]] = loco.reduce_mean %[[A]]
// The returned %s reuses its f32 cast: one cast per value and type.
// CHECK-NEXT: return %[[L]], %[[SF]] : tensor<f32>, tensor<3x2x4xf32>

// F16: loco.cast %{{.*}} : tensor<4x4xf32> to tensor<4x4xf16>
// F16: loco.linear {{.*}} -> tensor<3x2x4xf16>

// The cotangents of the weight's bf16 copy (used by both linears) are cast
// to f32 one by one and summed there, so the parameter's gradient is an f32
// sum of f32 terms.
// GRAD-LABEL: func.func @train_step(
// GRAD: %[[G1:.*]] = loco.linear_weight_grad {{.*}} -> tensor<4x4xbf16>
// GRAD: %[[G1F:.*]] = loco.cast %[[G1]] {loco.backward} : tensor<4x4xbf16> to tensor<4x4xf32>
// GRAD: %[[G2:.*]] = loco.linear_weight_grad {{.*}} -> tensor<4x4xbf16>
// GRAD: %[[G2F:.*]] = loco.cast %[[G2]] {loco.backward} : tensor<4x4xbf16> to tensor<4x4xf32>
// GRAD-NEXT: %[[SUM:.*]] = loco.add %[[G1F]], %[[G2F]] {loco.backward} : tensor<4x4xf32>
// GRAD: return %{{.*}}, %{{.*}}, %[[SUM]], %{{.*}} : tensor<f32>, tensor<3x2x4xf32>, tensor<4x4xf32>, tensor<4xf32>

// BAD: loco-autocast: unknown dtype 'f64'; expected bf16 or f16
module {
  func.func @train_step(%w: tensor<4x4xf32> {loco.param = "w"},
                        %g: tensor<4xf32> {loco.param = "g"},
                        %x: tensor<3x2x4xf32> {loco.input = "mixture"})
      -> (tensor<f32>, tensor<3x2x4xf32>) {
    %n = loco.rms_group_norm %x, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<3x2x4xf32>, tensor<4xf32>) -> tensor<3x2x4xf32>
    %y = loco.linear %n, %w : (tensor<3x2x4xf32>, tensor<4x4xf32>) -> tensor<3x2x4xf32>
    %s = loco.silu %y : tensor<3x2x4xf32>
    %z = loco.linear %s, %w : (tensor<3x2x4xf32>, tensor<4x4xf32>) -> tensor<3x2x4xf32>
    %r = loco.rope %z {theta = 1.0e+04 : f64} : (tensor<3x2x4xf32>) -> tensor<3x2x4xf32>
    %a = loco.add %r, %s : tensor<3x2x4xf32>
    %l = loco.reduce_mean %a {dims = array<i64: 0, 1, 2>} : (tensor<3x2x4xf32>) -> tensor<f32>
    return %l, %s : tensor<f32>, tensor<3x2x4xf32>
  }
}
