// RUN: loco-opt %s -loco-plan-memory -loco-lower-to-runtime | FileCheck %s

// Random ops draw at `offset + replica * extent`, with the data-parallel
// replica read from the context when the op runs (0 in a single process):
// the whole op's 24 elements here, and a chunk's offset 12 of 24.
// CHECK: llvm.func @loco_context_rng_replica(!llvm.ptr) -> i64
// CHECK-LABEL: llvm.func @loco_train_step(
// CHECK: %[[R0:.*]] = llvm.call @loco_context_rng_replica(%arg0) : (!llvm.ptr) -> i64
// CHECK: %[[E0:.*]] = llvm.mlir.constant(24 : i64) : i64
// CHECK: %[[M0:.*]] = llvm.mul %[[R0]], %[[E0]] : i64
// CHECK: %[[O0:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: %[[I0:.*]] = llvm.add %[[M0]], %[[O0]] : i64
// CHECK: llvm.call @loco_dropout(%arg0, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[I0]])
// CHECK: %[[R1:.*]] = llvm.call @loco_context_rng_replica(%arg0) : (!llvm.ptr) -> i64
// CHECK: %[[E1:.*]] = llvm.mlir.constant(24 : i64) : i64
// CHECK: %[[M1:.*]] = llvm.mul %[[R1]], %[[E1]] : i64
// CHECK: %[[O1:.*]] = llvm.mlir.constant(12 : i64) : i64
// CHECK: %[[I1:.*]] = llvm.add %[[M1]], %[[O1]] : i64
// CHECK: llvm.call @loco_dropout(%arg0, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[I1]])
module attributes {loco.config = "test.yaml"} {
  func.func @train_step(%x: tensor<2x3x4xf32> {loco.input = "mixture"})
      -> (tensor<2x3x4xf32> {loco.name = "y"}, tensor<1x3x4xf32> {loco.name = "z"}) {
    %y = loco.dropout %x {p = 0.1 : f64, rng = #loco.rng<stream = 1>}
        : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    %s = loco.slice %x {dim = 0 : i64, start = 1 : i64, size = 1 : i64}
        : (tensor<2x3x4xf32>) -> tensor<1x3x4xf32>
    %z = loco.dropout %s {p = 0.1 : f64, rng = #loco.rng<stream = 2, offset = 12, extent = 24>}
        : (tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    return %y, %z : tensor<2x3x4xf32>, tensor<1x3x4xf32>
  }
}
