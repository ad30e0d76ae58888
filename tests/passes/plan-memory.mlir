// RUN: loco-opt %s -loco-plan-memory -split-input-file -verify-diagnostics | FileCheck %s

// Fixed regions first (arguments, then per parameter its accumulator and
// moments, the optimizer scratch, the workspace: two 64-element reductions
// need 512 bytes of double accumulators), then activations placed greedily
// by size, 256-byte aligned: %big (1024 bytes) first, %small and %s beside
// it; the add writes over %s, which dies there; %l reuses %big's bytes once
// %big is dead; the mul writes over %l. The fill is sunk to just before its
// only user. Arena = lower bound here.

// CHECK-LABEL: module attributes
// CHECK-SAME: loco.memory = {activation_base = 2048 : i64, arena_bytes = 3584 : i64, lower_bound_bytes = 3584 : i64, scratch_offset = 1280 : i64, workspace_bytes = 512 : i64, workspace_offset = 1536 : i64}
module {
  // CHECK: func.func @train_step(%{{.*}}: tensor<64xf32> {loco.grad_offset = 512 : i64, loco.m_offset = 768 : i64, loco.offset = 0 : i64, loco.param = "w", loco.v_offset = 1024 : i64}, %{{.*}}: tensor<64xf32> {loco.input = "x", loco.offset = 256 : i64})
  func.func @train_step(%w: tensor<64xf32> {loco.param = "w"}, %x: tensor<64xf32> {loco.input = "x"})
      -> (tensor<f32> {loco.name = "loss"}, tensor<64xf32> {loco.name = "grad:w"}) {
    // CHECK: loco.reshape %{{.*}} {loco.offsets = array<i64: 256>}
    // CHECK-NEXT: loco.broadcast {{.*}} {dims = array<i64: 1>, loco.offsets = array<i64: 2048>}
    // CHECK-NEXT: loco.scale %{{.*}} {factor = 2.000000e+00 : f64, loco.offsets = array<i64: 3072>}
    // CHECK-NEXT: loco.reduce_sum %{{.*}} {dims = array<i64: 0, 1>, loco.offsets = array<i64: 3328>}
    // CHECK-NEXT: loco.add %{{.*}}, %{{.*}} {loco.offsets = array<i64: 3328>}
    // CHECK-NEXT: loco.reduce_sum %{{.*}} {dims = array<i64: 0>, loco.offsets = array<i64: 2048>}
    // CHECK-NEXT: loco.fill {loco.offsets = array<i64: 2304>, value = 1.000000e+00 : f64}
    // CHECK-NEXT: loco.mul %{{.*}}, %{{.*}} {loco.offsets = array<i64: 2048>}
    %one = loco.fill {value = 1.0 : f64} : tensor<f32>
    %b = loco.reshape %x : tensor<64xf32> -> tensor<1x64xf32>
    %big = loco.broadcast %b {dims = array<i64: 1>} : (tensor<1x64xf32>) -> tensor<1x4x64xf32>
    %small = loco.scale %w {factor = 2.0 : f64} : tensor<64xf32>
    %s = loco.reduce_sum %big {dims = array<i64: 0, 1>} : (tensor<1x4x64xf32>) -> tensor<64xf32>
    %t = loco.add %s, %small : tensor<64xf32>
    %l = loco.reduce_sum %t {dims = array<i64: 0>} : (tensor<64xf32>) -> tensor<f32>
    %l2 = loco.mul %l, %one : tensor<f32>
    return %l2, %t : tensor<f32>, tensor<64xf32>
  }
}

// -----

// A separation step alone (lococ --mode separate): its arguments are the
// fixed region; no gradients, moments or scratch; the activations follow,
// with forward liveness only: the scale writes over %y, which dies there.
// CHECK-LABEL: module attributes
// CHECK-SAME: loco.memory = {activation_base = 512 : i64, arena_bytes = 768 : i64, lower_bound_bytes = 768 : i64, scratch_offset = -1 : i64, workspace_bytes = 0 : i64, workspace_offset = 512 : i64}
module {
  // CHECK: func.func @separate_step(%{{.*}}: tensor<64xf32> {loco.offset = 0 : i64, loco.param = "w"}, %{{.*}}: tensor<64xf32> {loco.input = "mixture", loco.offset = 256 : i64})
  func.func @separate_step(%w: tensor<64xf32> {loco.param = "w"}, %x: tensor<64xf32> {loco.input = "mixture"})
      -> (tensor<64xf32> {loco.name = "vocals"}) {
    // CHECK: loco.mul %{{.*}}, %{{.*}} {loco.offsets = array<i64: 512>}
    %y = loco.mul %w, %x : tensor<64xf32>
    // CHECK-NEXT: loco.scale %{{.*}} {factor = 2.000000e+00 : f64, loco.offsets = array<i64: 512>}
    %z = loco.scale %y {factor = 2.0 : f64} : tensor<64xf32>
    return %z : tensor<64xf32>
  }
}

// -----

// expected-error @+1 {{expects a func.func @train_step or @separate_step to plan}}
module {
  func.func @other() {
    return
  }
}
