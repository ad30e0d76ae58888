// RUN: loco-opt %s -loco-fuse-attention -split-input-file | FileCheck %s

// The frontend's attention: scaled q k^T, softmax over the keys, dropout,
// times v, fuses into one loco.flash_attention carrying the scale and the
// dropout's probability and key.

// CHECK-LABEL: func.func @fuses_with_dropout
// CHECK-SAME: (%[[Q:.*]]: tensor<4x2x9x8xf32>, %[[K:.*]]: tensor<4x2x9x8xf32>, %[[V:.*]]: tensor<4x2x9x8xf32>)
func.func @fuses_with_dropout(%q: tensor<4x2x9x8xf32>, %k: tensor<4x2x9x8xf32>,
                              %v: tensor<4x2x9x8xf32>) -> tensor<4x2x9x8xf32> {
  // CHECK-NOT: loco.softmax
  // CHECK: %[[O:.*]], %{{.*}} = loco.flash_attention %[[Q]], %[[K]], %[[V]] {dropout = 1.000000e-01 : f64, rng = #loco.rng<stream = 4>, scale = 0.35355339059327373 : f64}
  // CHECK-SAME: -> (tensor<4x2x9x8xf32>, tensor<4x2x9xf32>)
  // CHECK-NEXT: return %[[O]]
  %s = loco.batch_matmul %q, %k {transpose_rhs} : (tensor<4x2x9x8xf32>, tensor<4x2x9x8xf32>) -> tensor<4x2x9x9xf32>
  %t = loco.scale %s {factor = 0.35355339059327373 : f64} : tensor<4x2x9x9xf32>
  %p = loco.softmax %t {dim = 3 : i64} : (tensor<4x2x9x9xf32>) -> tensor<4x2x9x9xf32>
  %d = loco.dropout %p {p = 0.1 : f64, rng = #loco.rng<stream = 4>} : (tensor<4x2x9x9xf32>) -> tensor<4x2x9x9xf32>
  %o = loco.batch_matmul %d, %v : (tensor<4x2x9x9xf32>, tensor<4x2x9x8xf32>) -> tensor<4x2x9x8xf32>
  return %o : tensor<4x2x9x8xf32>
}

// -----

// Without dropout (stripped for p = 0), and with rank-3 operands.
// CHECK-LABEL: func.func @fuses_without_dropout
// CHECK: loco.flash_attention %{{.*}}, %{{.*}}, %{{.*}} {dropout = 0.000000e+00 : f64, scale = 5.000000e-01 : f64} : (tensor<3x5x4xf32>, tensor<3x7x4xf32>, tensor<3x7x6xf32>) -> (tensor<3x5x6xf32>, tensor<3x5xf32>)
func.func @fuses_without_dropout(%q: tensor<3x5x4xf32>, %k: tensor<3x7x4xf32>,
                                 %v: tensor<3x7x6xf32>) -> tensor<3x5x6xf32> {
  %s = loco.batch_matmul %q, %k {transpose_rhs} : (tensor<3x5x4xf32>, tensor<3x7x4xf32>) -> tensor<3x5x7xf32>
  %t = loco.scale %s {factor = 0.5 : f64} : tensor<3x5x7xf32>
  %p = loco.softmax %t {dim = 2 : i64} : (tensor<3x5x7xf32>) -> tensor<3x5x7xf32>
  %o = loco.batch_matmul %p, %v : (tensor<3x5x7xf32>, tensor<3x7x6xf32>) -> tensor<3x5x6xf32>
  return %o : tensor<3x5x6xf32>
}

// -----

// Near miss: a mask added to the scores.
// CHECK-LABEL: func.func @mask
// CHECK-NOT: loco.flash_attention
// CHECK: loco.softmax
func.func @mask(%q: tensor<3x5x4xf32>, %k: tensor<3x5x4xf32>, %v: tensor<3x5x4xf32>,
                %mask: tensor<3x5x5xf32>) -> tensor<3x5x4xf32> {
  %s = loco.batch_matmul %q, %k {transpose_rhs} : (tensor<3x5x4xf32>, tensor<3x5x4xf32>) -> tensor<3x5x5xf32>
  %t = loco.scale %s {factor = 0.5 : f64} : tensor<3x5x5xf32>
  %m = loco.add %t, %mask : tensor<3x5x5xf32>
  %p = loco.softmax %m {dim = 2 : i64} : (tensor<3x5x5xf32>) -> tensor<3x5x5xf32>
  %o = loco.batch_matmul %p, %v : (tensor<3x5x5xf32>, tensor<3x5x4xf32>) -> tensor<3x5x4xf32>
  return %o : tensor<3x5x4xf32>
}

// -----

// Near miss: the scale is not 1/sqrt(d) (d = 4 wants 0.5).
// CHECK-LABEL: func.func @scale
// CHECK-NOT: loco.flash_attention
// CHECK: loco.softmax
func.func @scale(%q: tensor<3x5x4xf32>, %k: tensor<3x5x4xf32>, %v: tensor<3x5x4xf32>) -> tensor<3x5x4xf32> {
  %s = loco.batch_matmul %q, %k {transpose_rhs} : (tensor<3x5x4xf32>, tensor<3x5x4xf32>) -> tensor<3x5x5xf32>
  %t = loco.scale %s {factor = 0.25 : f64} : tensor<3x5x5xf32>
  %p = loco.softmax %t {dim = 2 : i64} : (tensor<3x5x5xf32>) -> tensor<3x5x5xf32>
  %o = loco.batch_matmul %p, %v : (tensor<3x5x5xf32>, tensor<3x5x4xf32>) -> tensor<3x5x4xf32>
  return %o : tensor<3x5x4xf32>
}

// -----

// Near miss: softmax over the queries instead of the keys.
// CHECK-LABEL: func.func @axis
// CHECK-NOT: loco.flash_attention
// CHECK: loco.softmax {{.*}} {dim = 1 : i64}
func.func @axis(%q: tensor<3x5x4xf32>, %k: tensor<3x5x4xf32>, %v: tensor<3x5x4xf32>) -> tensor<3x5x4xf32> {
  %s = loco.batch_matmul %q, %k {transpose_rhs} : (tensor<3x5x4xf32>, tensor<3x5x4xf32>) -> tensor<3x5x5xf32>
  %t = loco.scale %s {factor = 0.5 : f64} : tensor<3x5x5xf32>
  %p = loco.softmax %t {dim = 1 : i64} : (tensor<3x5x5xf32>) -> tensor<3x5x5xf32>
  %o = loco.batch_matmul %p, %v : (tensor<3x5x5xf32>, tensor<3x5x4xf32>) -> tensor<3x5x4xf32>
  return %o : tensor<3x5x4xf32>
}

// -----

// Near miss: the score tensor has another user.
// CHECK-LABEL: func.func @other_user
// CHECK-NOT: loco.flash_attention
// CHECK: return %{{.*}}, %{{.*}} : tensor<3x5x4xf32>, tensor<3x5x5xf32>
func.func @other_user(%q: tensor<3x5x4xf32>, %k: tensor<3x5x4xf32>, %v: tensor<3x5x4xf32>)
    -> (tensor<3x5x4xf32>, tensor<3x5x5xf32>) {
  %s = loco.batch_matmul %q, %k {transpose_rhs} : (tensor<3x5x4xf32>, tensor<3x5x4xf32>) -> tensor<3x5x5xf32>
  %t = loco.scale %s {factor = 0.5 : f64} : tensor<3x5x5xf32>
  %p = loco.softmax %t {dim = 2 : i64} : (tensor<3x5x5xf32>) -> tensor<3x5x5xf32>
  %o = loco.batch_matmul %p, %v : (tensor<3x5x5xf32>, tensor<3x5x4xf32>) -> tensor<3x5x4xf32>
  return %o, %s : tensor<3x5x4xf32>, tensor<3x5x5xf32>
}
