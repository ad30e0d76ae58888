// RUN: loco-opt %s -loco-plan-memory -loco-lower-to-runtime | FileCheck %s

// Reduced-precision kernels are named by their storage type (the first
// operand's): loco_silu_bf16; a cast by both types: loco_cast_f32_bf16. A
// split of bf16 pieces copies at 2-byte element offsets, and the manifest
// says the step's precision.

// CHECK-DAG: llvm.func @loco_cast_f32_bf16(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG: llvm.func @loco_silu_bf16(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG: llvm.func @loco_copy_bf16(
// CHECK-DAG: llvm.func @loco_cast_bf16_f32(
// CHECK: @loco_manifest("{{.*}}\22precision\22:\22bf16\22
// CHECK-LABEL: llvm.func @loco_train_step(
// CHECK: llvm.call @loco_cast_f32_bf16(
// CHECK: llvm.call @loco_silu_bf16(
// The split: the second piece starts 3 * 4 * 2 = 24 bytes into the whole.
// CHECK: llvm.mlir.constant(256 : i64)
// CHECK: llvm.call @loco_copy_bf16(
// CHECK: llvm.mlir.constant(280 : i64)
// CHECK: llvm.call @loco_copy_bf16(
// CHECK: llvm.call @loco_cast_bf16_f32(
module {
  func.func @train_step(%x: tensor<6x4xf32> {loco.input = "mixture"})
      -> (tensor<3x4xf32> {loco.name = "y"}) {
    %b = loco.cast %x : tensor<6x4xf32> to tensor<6x4xbf16>
    %s = loco.silu %b : tensor<6x4xbf16>
    %p:2 = loco.split %s {sizes = array<i64: 3, 3>} : (tensor<6x4xbf16>) -> (tensor<3x4xbf16>, tensor<3x4xbf16>)
    %y = loco.cast %p#1 : tensor<3x4xbf16> to tensor<3x4xf32>
    return %y : tensor<3x4xf32>
  }
}
