// RUN: loco-opt %s -loco-test-op-interfaces -verify-diagnostics -o /dev/null

// The recompute cost (FLOPs with a multiply-add as 2; bytes read + written in
// f32) and the row-independent leading dims of the ops the row chunker and
// the rematerialiser query. Figures computed by hand from the shapes.

func.func @costs(%x: tensor<6x10x4xf32>, %w: tensor<12x4xf32>, %g: tensor<4xf32>,
                 %w1: tensor<8x4x4xf32>, %b1: tensor<8xf32>,
                 %e: tensor<2x10xf32>, %t: tensor<2x10xf32>) {
  // 720 outputs x K 4 x 2; 960 + 192 + 2880 bytes; rows R, L; the weight whole.
  // expected-remark @+1 {{flops = 5760, bytes = 4032, row dims = 2, broadcast operands = [1]}}
  %0 = loco.linear %x, %w : (tensor<6x10x4xf32>, tensor<12x4xf32>) -> tensor<6x10x12xf32>
  // 5 per element; channel dim mixes; gamma whole.
  // expected-remark @+1 {{flops = 1200, bytes = 1936, row dims = 2, broadcast operands = [1]}}
  %1 = loco.rms_group_norm %x, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<6x10x4xf32>, tensor<4xf32>) -> tensor<6x10x4xf32>
  // A view: free; merging the two leading dims keeps no row dim.
  // expected-remark @+1 {{flops = 0, bytes = 0, row dims = 0, broadcast operands = [0]}}
  %2 = loco.reshape %x : tensor<6x10x4xf32> -> tensor<60x4xf32>
  // A copy; dim 0 stays in place.
  // expected-remark @+1 {{flops = 0, bytes = 1920, row dims = 1, broadcast operands = []}}
  %3 = loco.transpose %x {permutation = array<i64: 0, 2, 1>} : (tensor<6x10x4xf32>) -> tensor<6x4x10xf32>
  // expected-remark @+1 {{flops = 1200, bytes = 1920, row dims = 2, broadcast operands = []}}
  %4 = loco.softmax %x {dim = 2 : i64} : (tensor<6x10x4xf32>) -> tensor<6x10x4xf32>
  // 336 outputs x (2 x 4 x 4 + 1); 960 + 512 + 32 + 1344 bytes; rows only.
  // expected-remark @+1 {{flops = 11088, bytes = 2848, row dims = 1, broadcast operands = [1, 2]}}
  %5 = loco.conv1d %x, %w1, %b1 {stride = 1 : i64} : (tensor<6x10x4xf32>, tensor<8x4x4xf32>, tensor<8xf32>) -> tensor<6x7x8xf32>
  // Element-wise: every dim is a row dim.
  // expected-remark @+1 {{flops = 2880, bytes = 1920, row dims = 3, broadcast operands = []}}
  %6 = loco.dropout %x {p = 1.0e-01 : f64, rng = #loco.rng<stream = 0>} : (tensor<6x10x4xf32>) -> tensor<6x10x4xf32>
  // The dropout's 12 flops per element and the sum; two operands read.
  // expected-remark @+1 {{flops = 3120, bytes = 2880, row dims = 3, broadcast operands = []}}
  %da = loco.dropout_add %x, %x {p = 1.0e-01 : f64, rng = #loco.rng<stream = 1>} : (tensor<6x10x4xf32>, tensor<6x10x4xf32>) -> tensor<6x10x4xf32>
  // A global mean: no row dim, every operand used whole.
  // expected-remark @+1 {{flops = 60, bytes = 164, row dims = 0, broadcast operands = [0, 1]}}
  %7 = loco.l1_loss %e, %t : (tensor<2x10xf32>, tensor<2x10xf32>) -> tensor<f32>
  // Per batch item.
  // expected-remark @+1 {{flops = 200, bytes = 168, row dims = 1, broadcast operands = []}}
  %8 = loco.si_sdr %e, %t {eps = 1.0e-08 : f64} : (tensor<2x10xf32>, tensor<2x10xf32>) -> tensor<2xf32>
  // 960 + 1152 bytes; only the dims before the first padded one.
  // expected-remark @+1 {{flops = 0, bytes = 2112, row dims = 1, broadcast operands = []}}
  %9 = loco.pad %x {high = array<i64: 0, 0, 0>, low = array<i64: 0, 2, 0>} : (tensor<6x10x4xf32>) -> tensor<6x12x4xf32>
  return
}
