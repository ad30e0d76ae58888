// RUN: loco-opt %s -loco-plan-memory -loco-lower-to-runtime=target=tpu -verify-diagnostics

// expected-error @+1 {{unknown target 'tpu'; the targets are cpu and cuda}}
module {
  func.func @train_step(%x: tensor<4xf32> {loco.input = "mixture"}) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
