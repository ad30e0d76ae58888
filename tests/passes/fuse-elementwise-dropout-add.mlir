// RUN: loco-opt %s -loco-fuse-elementwise -split-input-file | FileCheck %s

// A sublayer's end: the residual plus the dropout of its output fuses into
// one loco.dropout_add with the dropout's probability and key.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[X:[^:]*]]: tensor<6x4x8xf32> {loco.input = "mixture"}
// CHECK: %[[Y:.*]] = loco.linear
// CHECK-NOT: loco.dropout %
// CHECK: %[[S:.*]] = loco.dropout_add %[[X]], %[[Y]] {p = 1.000000e-01 : f64, rng = #loco.rng<stream = 3>} : (tensor<6x4x8xf32>, tensor<6x4x8xf32>) -> tensor<6x4x8xf32>
// CHECK-NOT: loco.add
func.func @train_step(%w: tensor<8x8xf32> {loco.param = "proj.weight"},
                      %x: tensor<6x4x8xf32> {loco.input = "mixture"})
    -> (tensor<f32> {loco.name = "total_loss"}) {
  %y = loco.linear %x, %w : (tensor<6x4x8xf32>, tensor<8x8xf32>) -> tensor<6x4x8xf32>
  %d = loco.dropout %y {p = 1.0e-01 : f64, rng = #loco.rng<stream = 3>} : (tensor<6x4x8xf32>) -> tensor<6x4x8xf32>
  %s = loco.add %x, %d : tensor<6x4x8xf32>
  %l = loco.reduce_sum %s {dims = array<i64: 0, 1, 2>} : (tensor<6x4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// The add's operands in the other order.
// CHECK-LABEL: func.func @fuses_swapped
// CHECK-SAME: (%[[R:.*]]: tensor<5x3xf32>, %[[X:.*]]: tensor<5x3xf32>)
// CHECK: loco.dropout_add %[[R]], %[[X]] {p = 2.500000e-01 : f64, rng = #loco.rng<stream = 1>}
// CHECK-NOT: loco.add
func.func @fuses_swapped(%r: tensor<5x3xf32>, %x: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %d = loco.dropout %x {p = 2.5e-01 : f64, rng = #loco.rng<stream = 1>} : (tensor<5x3xf32>) -> tensor<5x3xf32>
  %s = loco.add %d, %r : tensor<5x3xf32>
  return %s : tensor<5x3xf32>
}

// -----

// Near miss: the dropped-out tensor has another user, so it is stored
// anyway and nothing fuses.
// CHECK-LABEL: func.func @dropout_used_twice
// CHECK-NOT: loco.dropout_add
// CHECK: loco.dropout %
// CHECK: loco.add
func.func @dropout_used_twice(%r: tensor<5x3xf32>, %x: tensor<5x3xf32>) -> (tensor<5x3xf32>, tensor<5x3xf32>) {
  %d = loco.dropout %x {p = 2.5e-01 : f64, rng = #loco.rng<stream = 1>} : (tensor<5x3xf32>) -> tensor<5x3xf32>
  %s = loco.add %r, %d : tensor<5x3xf32>
  return %s, %d : tensor<5x3xf32>, tensor<5x3xf32>
}
