// RUN: loco-opt %s -allow-unregistered-dialect -loco-test-gradients | FileCheck %s

// The gradient rules of the data-movement and arithmetic ops, built with each
// op's own result standing in for its cotangent.

// CHECK-LABEL: func.func @arith
func.func @arith(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // CHECK: %[[ADD:.*]] = loco.add %[[A:.*]], %[[B:.*]] : tensor<4xf32>
  // CHECK-NEXT: "test.gradients"(%[[ADD]], %[[ADD]])
  %0 = loco.add %a, %b : tensor<4xf32>
  // CHECK: %[[SUB:.*]] = loco.sub
  // CHECK-NEXT: %[[NEG:.*]] = loco.scale %[[SUB]] {factor = -1.000000e+00 : f64}
  // CHECK-NEXT: "test.gradients"(%[[SUB]], %[[NEG]])
  %1 = loco.sub %a, %b : tensor<4xf32>
  // CHECK: %[[MUL:.*]] = loco.mul %[[A]], %[[B]]
  // CHECK-NEXT: %[[GA:.*]] = loco.mul %[[MUL]], %[[B]]
  // CHECK-NEXT: %[[GB:.*]] = loco.mul %[[MUL]], %[[A]]
  // CHECK-NEXT: "test.gradients"(%[[GA]], %[[GB]])
  %2 = loco.mul %a, %b : tensor<4xf32>
  // d(a/b)/da = g/b; d(a/b)/db = -(g/b) * (a/b).
  // CHECK: %[[DIV:.*]] = loco.div %[[A]], %[[B]]
  // CHECK-NEXT: %[[GDA:.*]] = loco.div %[[DIV]], %[[B]]
  // CHECK-NEXT: %[[Q:.*]] = loco.mul %[[GDA]], %[[DIV]]
  // CHECK-NEXT: %[[GDB:.*]] = loco.scale %[[Q]] {factor = -1.000000e+00 : f64}
  // CHECK-NEXT: "test.gradients"(%[[GDA]], %[[GDB]])
  %3 = loco.div %a, %b : tensor<4xf32>
  // CHECK: %[[SC:.*]] = loco.scale %[[A]] {factor = 2.500000e-01 : f64}
  // CHECK-NEXT: %[[GS:.*]] = loco.scale %[[SC]] {factor = 2.500000e-01 : f64}
  // CHECK-NEXT: "test.gradients"(%[[GS]])
  %4 = loco.scale %a {factor = 0.25 : f64} : tensor<4xf32>
  return
}

// CHECK-LABEL: func.func @movement
func.func @movement(%x: tensor<2x3x4xf32>) {
  // CHECK: %[[R:.*]] = loco.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // CHECK-NEXT: %[[GR:.*]] = loco.reshape %[[R]] : tensor<6x4xf32> -> tensor<2x3x4xf32>
  // CHECK-NEXT: "test.gradients"(%[[GR]])
  %0 = loco.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // The inverse of (2, 0, 1) is (1, 2, 0).
  // CHECK: %[[T:.*]] = loco.transpose %{{.*}} {permutation = array<i64: 2, 0, 1>}
  // CHECK-NEXT: %[[GT:.*]] = loco.transpose %[[T]] {permutation = array<i64: 1, 2, 0>} : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: "test.gradients"(%[[GT]])
  %1 = loco.transpose %x {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // A slice's cotangent is zero-padded back into place.
  // CHECK: %[[S:.*]] = loco.slice %{{.*}} {dim = 2 : i64, size = 2 : i64, start = 1 : i64}
  // CHECK-NEXT: %[[GS:.*]] = loco.pad %[[S]] {high = array<i64: 0, 0, 1>, low = array<i64: 0, 0, 1>} : (tensor<2x3x2xf32>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: "test.gradients"(%[[GS]])
  %2 = loco.slice %x {dim = 2 : i64, size = 2 : i64, start = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x2xf32>
  // A pad's cotangent drops the padding, one padded dim at a time.
  // CHECK: %[[P:.*]] = loco.pad
  // CHECK-NEXT: %[[P1:.*]] = loco.slice %[[P]] {dim = 0 : i64, size = 2 : i64, start = 1 : i64}
  // CHECK-NEXT: %[[P2:.*]] = loco.slice %[[P1]] {dim = 2 : i64, size = 4 : i64, start = 0 : i64} : (tensor<2x3x6xf32>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: "test.gradients"(%[[P2]])
  %3 = loco.pad %x {high = array<i64: 0, 0, 2>, low = array<i64: 1, 0, 0>} : (tensor<2x3x4xf32>) -> tensor<3x3x6xf32>
  return
}
