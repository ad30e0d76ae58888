// RUN: loco-opt %s -loco-plan-memory -loco-lower-to-runtime | FileCheck %s

// On loco-plan-memory's plan: arguments take fixed regions in argument
// order (256-byte aligned); %a (512) and %b (768) are both live at the mul,
// which writes its result over %a (dying there, element-wise), as does the
// last scale; the returned %y is a view of that buffer.

// CHECK-DAG: llvm.func @loco_add(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG: llvm.func @loco_scale(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, f64)
// CHECK-DAG: llvm.mlir.global external @loco_debug_hook()
// CHECK-DAG: llvm.func internal @__loco_debug_op(
// CHECK: llvm.mlir.global external constant @loco_manifest("{{.*}}\22arena_bytes\22:1024,
// Each kernel call's [flops, bytes moved] (locorun --profile), its
// description and, per entry, the calls in order.
// CHECK-SAME: \22debug\22:{\22costs\22:{\22loco_train_step\22:{{\[}}[4,48],[4,32],[4,48],[4,32]]},\22names\22:[\22loco.add ({{.*}}lower-to-runtime.mlir:{{[0-9]+}}:{{[0-9]+}})\22,
// CHECK-SAME: \22entry_points\22:{\22train\22:{\22outputs\22:[{\22bytes\22:16,\22name\22:\22y\22,\22offset\22:512,\22shape\22:[2,2]}],\22symbol\22:\22loco_train_step\22}}
// CHECK-SAME: \22inputs\22:[{\22bytes\22:16,\22name\22:\22mixture\22,\22offset\22:256,\22shape\22:[4]}]
// CHECK-SAME: \22parameters\22:[{\22bytes\22:16,\22init\22:\22ones\22,\22name\22:\22w\22,\22offset\22:0,\22shape\22:[4]}]
// CHECK: llvm.mlir.global external constant @loco_abi_version(6 : i32)
// CHECK-LABEL: llvm.func @loco_train_step(
// CHECK-SAME: %[[CTX:.*]]: !llvm.ptr, %[[ARENA:.*]]: !llvm.ptr)
// CHECK: %[[C0:.*]] = llvm.mlir.constant(0 : i64)
// CHECK: %[[W:.*]] = llvm.getelementptr %[[ARENA]][%[[C0]]]
// CHECK: %[[C256:.*]] = llvm.mlir.constant(256 : i64)
// CHECK: %[[X:.*]] = llvm.getelementptr %[[ARENA]][%[[C256]]]
// CHECK: %[[C512:.*]] = llvm.mlir.constant(512 : i64)
// CHECK: %[[A:.*]] = llvm.getelementptr %[[ARENA]][%[[C512]]]
// CHECK: %[[N:.*]] = llvm.mlir.constant(4 : i64)
// CHECK: llvm.call @loco_add(%[[CTX]], %[[W]], %[[X]], %[[A]], %[[N]])
// After each op, each result goes to the debug hook: the op's index, the
// result's pointer, its bytes and its element type (LOCO_DTYPE_F32 = 0).
// CHECK: %[[OP0:.*]] = llvm.mlir.constant(0 : i64)
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(16 : i64)
// CHECK: %[[F32:.*]] = llvm.mlir.constant(0 : i64)
// CHECK: llvm.call @__loco_debug_op(%[[CTX]], %[[OP0]], %{{.*}}, %[[BYTES]], %[[F32]])
// CHECK: llvm.mlir.constant(768 : i64)
// CHECK: %[[TWO:.*]] = llvm.mlir.constant(2.000000e+00 : f64)
// CHECK: llvm.call @loco_scale(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %[[TWO]])
// CHECK: llvm.call @__loco_debug_op(
// CHECK: llvm.mlir.constant(512 : i64)
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: llvm.mlir.constant(768 : i64)
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: llvm.mlir.constant(512 : i64)
// CHECK: llvm.call @loco_mul(
// CHECK: llvm.call @__loco_debug_op(
// CHECK: llvm.mlir.constant(512 : i64)
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: llvm.mlir.constant(512 : i64)
// CHECK: llvm.call @loco_scale(
// CHECK: llvm.call @__loco_debug_op(
// CHECK-NOT: llvm.call
// CHECK: llvm.return
module attributes {loco.config = "test.yaml"} {
  func.func @train_step(%w: tensor<4xf32> {loco.param = "w", loco.init = "ones"},
                        %x: tensor<4xf32> {loco.input = "mixture"})
      -> (tensor<2x2xf32> {loco.name = "y"}) {
    %a = loco.add %w, %x : tensor<4xf32>
    %b = loco.scale %a {factor = 2.0 : f64} : tensor<4xf32>
    %c = loco.mul %a, %b : tensor<4xf32>
    %d = loco.scale %c {factor = 3.0 : f64} : tensor<4xf32>
    %y = loco.reshape %d : tensor<4xf32> -> tensor<2x2xf32>
    return %y : tensor<2x2xf32>
  }
}
