// RUN: loco-opt %s | loco-opt | FileCheck %s
// RUN: loco-opt %s --mlir-print-op-generic | loco-opt | FileCheck %s

// Every loco op round-trips through its custom assembly and the generic form.

// CHECK-LABEL: func.func @spectral
func.func @spectral(%x: tensor<2x4096xf32>) -> tensor<2x4096xf32> {
  // CHECK: %[[S:.*]] = loco.stft %{{.*}} {hop_length = 64 : i64, n_fft = 256 : i64} : (tensor<2x4096xf32>) -> tensor<2x2x65x129xf32>
  %s = loco.stft %x {hop_length = 64 : i64, n_fft = 256 : i64} : (tensor<2x4096xf32>) -> tensor<2x2x65x129xf32>
  // CHECK: loco.istft %[[S]] {hop_length = 64 : i64, length = 4096 : i64, n_fft = 256 : i64} : (tensor<2x2x65x129xf32>) -> tensor<2x4096xf32>
  %y = loco.istft %s {hop_length = 64 : i64, length = 4096 : i64, n_fft = 256 : i64} : (tensor<2x2x65x129xf32>) -> tensor<2x4096xf32>
  return %y : tensor<2x4096xf32>
}

// CHECK-LABEL: func.func @convolutions
func.func @convolutions(%x: tensor<2x2x5x7xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>,
                        %wt: tensor<4x8x3x3xf32>, %bt: tensor<8xf32>,
                        %r: tensor<6x10x4xf32>, %w1: tensor<8x4x4xf32>, %b1: tensor<8xf32>,
                        %w2: tensor<8x4x4xf32>, %b2: tensor<4xf32>) -> tensor<6x10x4xf32> {
  // CHECK: loco.conv2d %{{.*}}, %{{.*}}, %{{.*}} {padding = array<i64: 1, 1>} : (tensor<2x2x5x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x7xf32>
  %c = loco.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : (tensor<2x2x5x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x7xf32>
  // CHECK: loco.conv_transpose2d {{.*}} -> tensor<2x8x5x7xf32>
  %d = loco.conv_transpose2d %c, %wt, %bt {padding = array<i64: 1, 1>} : (tensor<2x4x5x7xf32>, tensor<4x8x3x3xf32>, tensor<8xf32>) -> tensor<2x8x5x7xf32>
  // CHECK: loco.conv1d {{.*}} {stride = 1 : i64} : (tensor<6x10x4xf32>, tensor<8x4x4xf32>, tensor<8xf32>) -> tensor<6x7x8xf32>
  %e = loco.conv1d %r, %w1, %b1 {stride = 1 : i64} : (tensor<6x10x4xf32>, tensor<8x4x4xf32>, tensor<8xf32>) -> tensor<6x7x8xf32>
  // CHECK: loco.conv_transpose1d {{.*}} -> tensor<6x10x4xf32>
  %f = loco.conv_transpose1d %e, %w2, %b2 {stride = 1 : i64} : (tensor<6x7x8xf32>, tensor<8x4x4xf32>, tensor<4xf32>) -> tensor<6x10x4xf32>
  return %f : tensor<6x10x4xf32>
}

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x4x5x7xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>,
                 %r: tensor<6x10x4xf32>, %gr: tensor<4xf32>) -> tensor<6x10x4xf32> {
  // CHECK: loco.group_norm {{.*}} {eps = 1.000000e-05 : f64, num_groups = 1 : i64}
  %y = loco.group_norm %x, %g, %b {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<2x4x5x7xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x5x7xf32>
  // CHECK: loco.rms_group_norm {{.*}} : (tensor<6x10x4xf32>, tensor<4xf32>) -> tensor<6x10x4xf32>
  %z = loco.rms_group_norm %r, %gr {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<6x10x4xf32>, tensor<4xf32>) -> tensor<6x10x4xf32>
  return %z : tensor<6x10x4xf32>
}

// Reduced precision: casts, and the ops with bf16/f16 kernels.
// CHECK-LABEL: func.func @reduced
func.func @reduced(%x: tensor<6x10x4xf32>, %w: tensor<12x4xf32>) -> (tensor<6x10x12xf32>, tensor<6x10x12xf16>) {
  // CHECK: loco.cast %{{.*}} : tensor<6x10x4xf32> to tensor<6x10x4xbf16>
  %xb = loco.cast %x : tensor<6x10x4xf32> to tensor<6x10x4xbf16>
  %wb = loco.cast %w : tensor<12x4xf32> to tensor<12x4xbf16>
  // CHECK: loco.linear {{.*}} : (tensor<6x10x4xbf16>, tensor<12x4xbf16>) -> tensor<6x10x12xbf16>
  %y = loco.linear %xb, %wb : (tensor<6x10x4xbf16>, tensor<12x4xbf16>) -> tensor<6x10x12xbf16>
  // CHECK: loco.silu %{{.*}} : tensor<6x10x12xbf16>
  %s = loco.silu %y : tensor<6x10x12xbf16>
  %f = loco.cast %s : tensor<6x10x12xbf16> to tensor<6x10x12xf32>
  %h = loco.cast %f : tensor<6x10x12xf32> to tensor<6x10x12xf16>
  return %f, %h : tensor<6x10x12xf32>, tensor<6x10x12xf16>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%x: tensor<6x10x4xf32>, %w: tensor<12x4xf32>, %q: tensor<6x2x10x2xf32>,
                     %k: tensor<6x2x10x2xf32>) -> tensor<6x2x10x2xf32> {
  // CHECK: loco.linear {{.*}} : (tensor<6x10x4xf32>, tensor<12x4xf32>) -> tensor<6x10x12xf32>
  %qkv = loco.linear %x, %w : (tensor<6x10x4xf32>, tensor<12x4xf32>) -> tensor<6x10x12xf32>
  // CHECK: loco.rope {{.*}} {theta = 1.000000e+04 : f64}
  %qr = loco.rope %q {theta = 1.0e+04 : f64} : (tensor<6x2x10x2xf32>) -> tensor<6x2x10x2xf32>
  // CHECK: loco.batch_matmul {{.*}} {transpose_rhs} : {{.*}} -> tensor<6x2x10x10xf32>
  %s = loco.batch_matmul %qr, %k {transpose_rhs} : (tensor<6x2x10x2xf32>, tensor<6x2x10x2xf32>) -> tensor<6x2x10x10xf32>
  // CHECK: loco.softmax {{.*}} {dim = 3 : i64}
  %p = loco.softmax %s {dim = 3 : i64} : (tensor<6x2x10x10xf32>) -> tensor<6x2x10x10xf32>
  // CHECK: loco.dropout {{.*}} {p = 1.000000e-01 : f64, rng = #loco.rng<stream = 7>}
  %pd = loco.dropout %p {p = 1.0e-01 : f64, rng = #loco.rng<stream = 7>} : (tensor<6x2x10x10xf32>) -> tensor<6x2x10x10xf32>
  // CHECK: loco.batch_matmul {{.*}} : (tensor<6x2x10x10xf32>, tensor<6x2x10x2xf32>) -> tensor<6x2x10x2xf32>
  %o = loco.batch_matmul %pd, %k : (tensor<6x2x10x10xf32>, tensor<6x2x10x2xf32>) -> tensor<6x2x10x2xf32>
  return %o : tensor<6x2x10x2xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<3x4xf32>, %b: tensor<3x4xf32>) -> tensor<3x4xf32> {
  // CHECK: loco.add %{{.*}}, %{{.*}} : tensor<3x4xf32>
  %0 = loco.add %a, %b : tensor<3x4xf32>
  // CHECK: loco.sub
  %1 = loco.sub %0, %b : tensor<3x4xf32>
  // CHECK: loco.mul
  %2 = loco.mul %1, %a : tensor<3x4xf32>
  // CHECK: loco.div
  %3 = loco.div %2, %b : tensor<3x4xf32>
  // CHECK: loco.silu %{{.*}} : tensor<3x4xf32>
  %4 = loco.silu %3 : tensor<3x4xf32>
  // CHECK: loco.scale %{{.*}} {factor = -1.000000e+00 : f64} : tensor<3x4xf32>
  %5 = loco.scale %4 {factor = -1.0 : f64} : tensor<3x4xf32>
  return %5 : tensor<3x4xf32>
}

// The residual add of a dropout, in one type and with a bf16 input under an
// f32 residual stream.
// CHECK-LABEL: func.func @dropout_add
func.func @dropout_add(%r: tensor<3x4xf32>, %x: tensor<3x4xf32>, %h: tensor<3x4xbf16>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  // CHECK: loco.dropout_add {{.*}} {p = 1.000000e-01 : f64, rng = #loco.rng<stream = 2>} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %a = loco.dropout_add %r, %x {p = 1.0e-01 : f64, rng = #loco.rng<stream = 2>} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  // CHECK: loco.dropout_add {{.*}} : (tensor<3x4xf32>, tensor<3x4xbf16>) -> tensor<3x4xf32>
  %b = loco.dropout_add %r, %h {p = 1.0e-01 : f64, rng = #loco.rng<stream = 3>} : (tensor<3x4xf32>, tensor<3x4xbf16>) -> tensor<3x4xf32>
  return %a, %b : tensor<3x4xf32>, tensor<3x4xf32>
}

// CHECK-LABEL: func.func @movement
func.func @movement(%x: tensor<2x3x4xf32>) -> tensor<4x2x5xf32> {
  // CHECK: loco.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %r = loco.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // CHECK: loco.transpose {{.*}} {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %t = loco.transpose %x {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // CHECK: loco.slice {{.*}} {dim = 2 : i64, size = 2 : i64, start = 1 : i64} : (tensor<4x2x3xf32>) -> tensor<4x2x2xf32>
  %s = loco.slice %t {dim = 2 : i64, size = 2 : i64, start = 1 : i64} : (tensor<4x2x3xf32>) -> tensor<4x2x2xf32>
  // CHECK: loco.pad {{.*}} {high = array<i64: 0, 0, 2>, low = array<i64: 0, 0, 1>} : (tensor<4x2x2xf32>) -> tensor<4x2x5xf32>
  %p = loco.pad %s {high = array<i64: 0, 0, 2>, low = array<i64: 0, 0, 1>} : (tensor<4x2x2xf32>) -> tensor<4x2x5xf32>
  return %p : tensor<4x2x5xf32>
}

// CHECK-LABEL: func.func @reductions_and_losses
func.func @reductions_and_losses(%e: tensor<2x4096xf32>, %t: tensor<2x4096xf32>,
                                 %E: tensor<2x2x5x1025xf32>, %T: tensor<2x2x5x1025xf32>)
    -> (tensor<2x1xf32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: loco.reduce_sum {{.*}} {dims = array<i64: 1>, keepdim} : (tensor<2x4096xf32>) -> tensor<2x1xf32>
  %s = loco.reduce_sum %e {dims = array<i64: 1>, keepdim} : (tensor<2x4096xf32>) -> tensor<2x1xf32>
  // CHECK: loco.si_sdr {{.*}} {eps = 1.000000e-08 : f64} : {{.*}} -> tensor<2xf32>
  %sdr = loco.si_sdr %e, %t {eps = 1.0e-08 : f64} : (tensor<2x4096xf32>, tensor<2x4096xf32>) -> tensor<2xf32>
  // CHECK: loco.reduce_mean {{.*}} {dims = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  %m = loco.reduce_mean %sdr {dims = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  // CHECK: loco.l1_loss
  %l1 = loco.l1_loss %e, %t : (tensor<2x4096xf32>, tensor<2x4096xf32>) -> tensor<f32>
  // CHECK: loco.mse_loss
  %l2 = loco.mse_loss %e, %t : (tensor<2x4096xf32>, tensor<2x4096xf32>) -> tensor<f32>
  // CHECK: loco.spectral_l1
  %sp = loco.spectral_l1 %E, %T : (tensor<2x2x5x1025xf32>, tensor<2x2x5x1025xf32>) -> tensor<f32>
  return %s, %m, %l1, %l2, %sp : tensor<2x1xf32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>
}
