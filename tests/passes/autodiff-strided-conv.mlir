// RUN: loco-opt %s -loco-autodiff | FileCheck %s

// Strided 1-D convolutions: the input gradient is the adjoint convolution
// with the same stride (cut or padded to the input's length); the weight
// gradient is the stride-1 kernel on the cotangent (conv1d) or the input
// (conv_transpose1d) with s - 1 zeros interleaved between rows: reshape to
// [R, L, 1, C], pad to [R, L, s, C], reshape, and slice the (L - 1) s + 1
// rows. Here L = 11, K = 4, s = 3: conv1d keeps (11 - 4) / 3 + 1 = 3 rows,
// which cover 10 input rows; the 11th gets a zero gradient.

module attributes {loco.training = {gradient_accumulation_steps = 1 : i64}} {
  // CHECK-LABEL: func.func @train_step(
  func.func @train_step(%w: tensor<6x5x4xf32> {loco.param = "w"},
                        %b: tensor<6xf32> {loco.param = "b"},
                        %v: tensor<6x5x4xf32> {loco.param = "v"},
                        %c: tensor<5xf32> {loco.param = "c"},
                        %x: tensor<2x11x5xf32> {loco.param = "x"})
      -> (tensor<f32> {loco.name = "total_loss"}) {
    %h = loco.conv1d %x, %w, %b {stride = 3 : i64} : (tensor<2x11x5xf32>, tensor<6x5x4xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
    %y = loco.conv_transpose1d %h, %v, %c {stride = 3 : i64} : (tensor<2x3x6xf32>, tensor<6x5x4xf32>, tensor<5xf32>) -> tensor<2x10x5xf32>
    %l = loco.reduce_sum %y {dims = array<i64: 0, 1, 2>} : (tensor<2x10x5xf32>) -> tensor<f32>
    // conv_transpose1d: input gradient, a stride-3 conv1d of the cotangent;
    // weight gradient against the input h with zeros interleaved.
    // CHECK: %[[GY:.*]] = loco.broadcast
    // CHECK: %[[GH:.*]] = loco.conv1d %[[GY]], %{{.*}}, %{{.*}} {loco.backward, stride = 3 : i64} : (tensor<2x10x5xf32>, tensor<6x5x4xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
    // CHECK: %[[R1:.*]] = loco.reshape %[[H:.*]] {loco.backward} : tensor<2x3x6xf32> -> tensor<2x3x1x6xf32>
    // CHECK: %[[P1:.*]] = loco.pad %[[R1]] {high = array<i64: 0, 0, 2, 0>, loco.backward, low = array<i64: 0, 0, 0, 0>} : (tensor<2x3x1x6xf32>) -> tensor<2x3x3x6xf32>
    // CHECK: %[[R2:.*]] = loco.reshape %[[P1]] {loco.backward} : tensor<2x3x3x6xf32> -> tensor<2x9x6xf32>
    // CHECK: %[[HS:.*]] = loco.slice %[[R2]] {dim = 1 : i64, loco.backward, size = 7 : i64, start = 0 : i64} : (tensor<2x9x6xf32>) -> tensor<2x7x6xf32>
    // CHECK: loco.conv_transpose1d_weight_grad %[[HS]], %[[GY]] {loco.backward} : (tensor<2x7x6xf32>, tensor<2x10x5xf32>) -> tensor<6x5x4xf32>
    // conv1d: input gradient, a stride-3 transposed convolution padded to
    // 11 rows; weight gradient of the 10 covered rows of x against the
    // cotangent with zeros interleaved.
    // CHECK: %[[GX:.*]] = loco.conv_transpose1d %[[GH]], %{{.*}}, %{{.*}} {loco.backward, stride = 3 : i64} : (tensor<2x3x6xf32>, tensor<6x5x4xf32>, tensor<5xf32>) -> tensor<2x10x5xf32>
    // CHECK: loco.pad %[[GX]] {high = array<i64: 0, 1, 0>, loco.backward, low = array<i64: 0, 0, 0>} : (tensor<2x10x5xf32>) -> tensor<2x11x5xf32>
    // CHECK: %[[XC:.*]] = loco.slice %{{.*}} {dim = 1 : i64, loco.backward, size = 10 : i64, start = 0 : i64} : (tensor<2x11x5xf32>) -> tensor<2x10x5xf32>
    // CHECK: %[[R3:.*]] = loco.reshape %[[GH]] {loco.backward} : tensor<2x3x6xf32> -> tensor<2x3x1x6xf32>
    // CHECK: %[[P2:.*]] = loco.pad %[[R3]]
    // CHECK: %[[R4:.*]] = loco.reshape %[[P2]]
    // CHECK: %[[GS:.*]] = loco.slice %[[R4]] {dim = 1 : i64, loco.backward, size = 7 : i64, start = 0 : i64}
    // CHECK: loco.conv1d_weight_grad %[[XC]], %[[GS]] {loco.backward} : (tensor<2x10x5xf32>, tensor<2x7x6xf32>) -> tensor<6x5x4xf32>
    return %l : tensor<f32>
  }
}
