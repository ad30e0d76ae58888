// RUN: loco-opt %s -loco-autodiff | FileCheck %s

// The forward function is kept as @eval_step; @train_step returns the
// gradient of its first result for every parameter, seeded with
// 1 / gradient_accumulation_steps; a value read twice sums its cotangents;
// the data input (%x) gets none, and nothing is built for it; backward ops
// are marked loco.backward.

module attributes {loco.training = {gradient_accumulation_steps = 4 : i64}} {
  // CHECK-LABEL: func.func @eval_step(
  // CHECK-SAME: -> (tensor<f32> {loco.name = "total_loss"})
  // CHECK: return
  // CHECK-LABEL: func.func @train_step(
  // CHECK-SAME: %[[W:.*]]: tensor<4xf32> {loco.param = "w"}, %[[X:.*]]: tensor<4xf32> {loco.input = "mixture"})
  // CHECK-SAME: -> (tensor<f32> {loco.name = "total_loss"}, tensor<4xf32> {loco.name = "grad:w"})
  func.func @train_step(%w: tensor<4xf32> {loco.param = "w"},
                        %x: tensor<4xf32> {loco.input = "mixture"})
      -> (tensor<f32> {loco.name = "total_loss"}) {
    // CHECK: %[[Y:.*]] = loco.mul %[[W]], %[[X]]
    %y = loco.mul %w, %x : tensor<4xf32>
    // CHECK: %[[Z:.*]] = loco.mul %[[Y]], %[[W]]
    %z = loco.mul %y, %w : tensor<4xf32>
    // CHECK: %[[L:.*]] = loco.reduce_sum %[[Z]]
    %l = loco.reduce_sum %z {dims = array<i64: 0>} : (tensor<4xf32>) -> tensor<f32>
    // CHECK: %[[SEED:.*]] = loco.fill {loco.backward, value = 2.500000e-01 : f64} : tensor<f32>
    // CHECK: %[[GZ:.*]] = loco.broadcast %[[SEED]] {dims = array<i64: 0>, loco.backward}
    // CHECK: %[[GY:.*]] = loco.mul %[[GZ]], %[[W]] {loco.backward}
    // CHECK: %[[GW1:.*]] = loco.mul %[[GZ]], %[[Y]]
    // CHECK: %[[GW2:.*]] = loco.mul %[[GY]], %[[X]]
    // CHECK-NOT: loco.mul %[[GY]], %[[W]]
    // CHECK: %[[GW:.*]] = loco.add %[[GW1]], %[[GW2]] {loco.backward}
    // CHECK: return %[[L]], %[[GW]]
    return %l : tensor<f32>
  }
}
