// RUN: loco-opt %s -loco-test-liveness -split-input-file -verify-diagnostics -o /dev/null

// Live ranges are op positions [definition, last read of anything the
// buffer holds]; a view shares its operand's buffer; an element-wise result
// reuses an operand that dies at it; returned buffers live to the
// terminator. Each 64-float buffer takes 256 bytes.

// expected-remark @+1 {{max live bytes 512}}
func.func @chain(%x: tensor<64xf32>) -> tensor<8x8xf32> {
  // expected-remark @+1 {{buffer 0: bytes 256, live [0, 5]}}
  %a = loco.scale %x {factor = 2.0 : f64} : tensor<64xf32>
  // expected-remark @+1 {{buffer 1: bytes 256, live [1, 3]}}
  %b = loco.silu %a : tensor<64xf32>
  // The add reads %b for the last time: it writes over it.
  // expected-remark @+1 {{in buffer 1}}
  %c = loco.add %b, %b : tensor<64xf32>
  // %a dies at the mul: in place again.
  // expected-remark @+1 {{in buffer 0}}
  %d = loco.mul %a, %c : tensor<64xf32>
  // expected-remark @+1 {{in buffer 0}}
  %e = loco.reshape %d : tensor<64xf32> -> tensor<8x8xf32>
  return %e : tensor<8x8xf32>
}

// -----

// expected-remark @+1 {{max live bytes 1024}}
func.func @kept(%x: tensor<64xf32>) -> (tensor<64xf32>, tensor<64xf32>) {
  // expected-remark @+1 {{view of an argument}}
  %v = loco.reshape %x : tensor<64xf32> -> tensor<64xf32>
  // An argument is never overwritten, and %a is read after the add.
  // expected-remark @+1 {{buffer 0: bytes 256, live [1, 5]}}
  %a = loco.scale %v {factor = 2.0 : f64} : tensor<64xf32>
  // expected-remark @+1 {{buffer 1: bytes 256, live [2, 3]}}
  %b = loco.add %a, %x : tensor<64xf32>
  // expected-remark @+1 {{buffer 2: bytes 512, live [3, 4]}}
  %big = loco.broadcast %b {dims = array<i64: 0>} : (tensor<64xf32>) -> tensor<2x64xf32>
  // expected-remark @+1 {{buffer 3: bytes 256, live [4, 5]}}
  %s = loco.reduce_sum %big {dims = array<i64: 0>} : (tensor<2x64xf32>) -> tensor<64xf32>
  return %a, %s : tensor<64xf32>, tensor<64xf32>
}
