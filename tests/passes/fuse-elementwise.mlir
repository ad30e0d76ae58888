// RUN: loco-opt %s -loco-fuse-elementwise -split-input-file | FileCheck %s

// The frontend's SwiGLU gate: the value half times the SiLU of the gate
// half of the convolution's output fuses into one loco.swiglu.

// CHECK-LABEL: func.func @fuses_gate
// CHECK-SAME: (%[[H:.*]]: tensor<6x9x16xf32>)
func.func @fuses_gate(%h: tensor<6x9x16xf32>) -> tensor<6x9x8xf32> {
  // CHECK-NOT: loco.slice
  // CHECK-NOT: loco.silu
  // CHECK: %[[U:.*]] = loco.swiglu %[[H]] : (tensor<6x9x16xf32>) -> tensor<6x9x8xf32>
  // CHECK-NEXT: return %[[U]]
  %a = loco.slice %h {dim = 2 : i64, size = 8 : i64, start = 0 : i64} : (tensor<6x9x16xf32>) -> tensor<6x9x8xf32>
  %b = loco.slice %h {dim = 2 : i64, size = 8 : i64, start = 8 : i64} : (tensor<6x9x16xf32>) -> tensor<6x9x8xf32>
  %s = loco.silu %b : tensor<6x9x8xf32>
  %u = loco.mul %a, %s : tensor<6x9x8xf32>
  return %u : tensor<6x9x8xf32>
}

// -----

// The product's operands in the other order, on a rank-2 tensor.
// CHECK-LABEL: func.func @fuses_swapped
// CHECK: loco.swiglu %{{.*}} : (tensor<5x4xf32>) -> tensor<5x2xf32>
// CHECK-NOT: loco.mul
func.func @fuses_swapped(%h: tensor<5x4xf32>) -> tensor<5x2xf32> {
  %a = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 0 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %b = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 2 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %s = loco.silu %b : tensor<5x2xf32>
  %u = loco.mul %s, %a : tensor<5x2xf32>
  return %u : tensor<5x2xf32>
}

// -----

// Near miss: the gate is the first half (the SiLU of the value half).
// CHECK-LABEL: func.func @halves_swapped
// CHECK-NOT: loco.swiglu
// CHECK: loco.mul
func.func @halves_swapped(%h: tensor<5x4xf32>) -> tensor<5x2xf32> {
  %a = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 2 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %b = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 0 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %s = loco.silu %b : tensor<5x2xf32>
  %u = loco.mul %a, %s : tensor<5x2xf32>
  return %u : tensor<5x2xf32>
}

// -----

// Near miss: the slices split a leading dim, not the last.
// CHECK-LABEL: func.func @not_last_dim
// CHECK-NOT: loco.swiglu
func.func @not_last_dim(%h: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %a = loco.slice %h {dim = 0 : i64, size = 2 : i64, start = 0 : i64} : (tensor<4x3xf32>) -> tensor<2x3xf32>
  %b = loco.slice %h {dim = 0 : i64, size = 2 : i64, start = 2 : i64} : (tensor<4x3xf32>) -> tensor<2x3xf32>
  %s = loco.silu %b : tensor<2x3xf32>
  %u = loco.mul %a, %s : tensor<2x3xf32>
  return %u : tensor<2x3xf32>
}

// -----

// Near miss: the SiLU is used again, so it must stay.
// CHECK-LABEL: func.func @silu_reused
// CHECK-NOT: loco.swiglu
func.func @silu_reused(%h: tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xf32>) {
  %a = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 0 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %b = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 2 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %s = loco.silu %b : tensor<5x2xf32>
  %u = loco.mul %a, %s : tensor<5x2xf32>
  return %u, %s : tensor<5x2xf32>, tensor<5x2xf32>
}

// -----

// Near miss: the halves come from two tensors.
// CHECK-LABEL: func.func @two_sources
// CHECK-NOT: loco.swiglu
func.func @two_sources(%h: tensor<5x4xf32>, %k: tensor<5x4xf32>) -> tensor<5x2xf32> {
  %a = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 0 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %b = loco.slice %k {dim = 1 : i64, size = 2 : i64, start = 2 : i64} : (tensor<5x4xf32>) -> tensor<5x2xf32>
  %s = loco.silu %b : tensor<5x2xf32>
  %u = loco.mul %a, %s : tensor<5x2xf32>
  return %u : tensor<5x2xf32>
}

// -----

// Near miss: a third of the last dim, not its halves.
// CHECK-LABEL: func.func @not_halves
// CHECK-NOT: loco.swiglu
func.func @not_halves(%h: tensor<5x6xf32>) -> tensor<5x2xf32> {
  %a = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 0 : i64} : (tensor<5x6xf32>) -> tensor<5x2xf32>
  %b = loco.slice %h {dim = 1 : i64, size = 2 : i64, start = 2 : i64} : (tensor<5x6xf32>) -> tensor<5x2xf32>
  %s = loco.silu %b : tensor<5x2xf32>
  %u = loco.mul %a, %s : tensor<5x2xf32>
  return %u : tensor<5x2xf32>
}
