// RUN: loco-opt %s -loco-lower-to-runtime -split-input-file -verify-diagnostics -allow-unregistered-dialect

// expected-error @+1 {{expects a func.func @train_step or @separate_step to lower}}
module {
  func.func @other() {
    return
  }
}

// -----

module attributes {loco.memory = {arena_bytes = 256 : i64, lower_bound_bytes = 256 : i64, scratch_offset = -1 : i64, workspace_bytes = 0 : i64, workspace_offset = 256 : i64, activation_base = 256 : i64}} {
  func.func @train_step(%x: tensor<4xf32> {loco.input = "mixture"}) -> tensor<4xf32> {
    // expected-error @+1 {{'test.op' op has no runtime kernel}}
    %y = "test.op"(%x) : (tensor<4xf32>) -> tensor<4xf32>
    return %y : tensor<4xf32>
  }
}

// -----

// expected-error @+1 {{expects the arena plan of loco-plan-memory (run it first)}}
module {
  func.func @train_step(%x: tensor<4xf32> {loco.input = "mixture"}) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
