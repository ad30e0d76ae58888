// RUN: loco-opt %s -split-input-file -verify-diagnostics

// Every verifier and shape-inference error of the loco ops. An op whose shape
// rule fails reports the rule and then that its result type could not be
// inferred.

func.func @case0(%x: tensor<2x4096xf32>) {
  // expected-error @+2 {{expects an even n_fft, got 255}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = loco.stft %x {hop_length = 64 : i64, n_fft = 255 : i64} : (tensor<2x4096xf32>) -> tensor<2x2x65x128xf32>
  return
}

// -----

func.func @case1(%x: tensor<2x4096xf32>) {
  // expected-error @+2 {{expects hop_length (512) <= n_fft (256)}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = loco.stft %x {hop_length = 512 : i64, n_fft = 256 : i64} : (tensor<2x4096xf32>) -> tensor<2x2x9x129xf32>
  return
}

// -----

func.func @case2(%x: tensor<2x100xf32>) {
  // expected-error @+2 {{expects more than n_fft / 2 = 128 samples for reflection padding, got 100}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = loco.stft %x {hop_length = 64 : i64, n_fft = 256 : i64} : (tensor<2x100xf32>) -> tensor<2x2x2x129xf32>
  return
}

// -----

func.func @case3(%x: tensor<2x4096xf32>) {
  // expected-error @+2 {{'loco.stft' op inferred type(s) 'tensor<2x2x65x129xf32>' are incompatible with return type(s) of operation 'tensor<2x2x65x128xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = loco.stft %x {hop_length = 64 : i64, n_fft = 256 : i64} : (tensor<2x4096xf32>) -> tensor<2x2x65x128xf32>
  return
}

// -----

func.func @case4(%x: tensor<2x4096xf32>) {
  // expected-error @+1 {{attribute 'hop_length' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %s = loco.stft %x {hop_length = 0 : i64, n_fft = 256 : i64} : (tensor<2x4096xf32>) -> tensor<2x2x65x129xf32>
  return
}

// -----

func.func @case5(%x: tensor<2x4096xi32>) {
  // expected-error @+1 {{'loco.stft' op operand #0 must be 2D tensor of 32-bit float values, but got 'tensor<2x4096xi32>'}}
  %s = "loco.stft"(%x) {hop_length = 64 : i64, n_fft = 256 : i64} : (tensor<2x4096xi32>) -> tensor<2x2x65x129xf32>
  return
}

// -----

func.func @case6(%x: tensor<2x3x65x129xf32>) {
  // expected-error @+2 {{expects 2 channels (real, imaginary), got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.istft %x {hop_length = 64 : i64, length = 4096 : i64, n_fft = 256 : i64} : (tensor<2x3x65x129xf32>) -> tensor<2x4096xf32>
  return
}

// -----

func.func @case7(%x: tensor<2x2x65x128xf32>) {
  // expected-error @+2 {{expects n_fft / 2 + 1 = 129 frequency bins, got 128}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.istft %x {hop_length = 64 : i64, length = 4096 : i64, n_fft = 256 : i64} : (tensor<2x2x65x128xf32>) -> tensor<2x4096xf32>
  return
}

// -----

func.func @case8(%x: tensor<2x2x65x129xf32>) {
  // expected-error @+2 {{expects length <= (frames - 1) * hop_length + n_fft / 2 = 4224, got 5000}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.istft %x {hop_length = 64 : i64, length = 5000 : i64, n_fft = 256 : i64} : (tensor<2x2x65x129xf32>) -> tensor<2x5000xf32>
  return
}

// -----

func.func @case9(%x: tensor<2x2x5x7xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{expects padding of two non-negative entries [PH, PW]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv2d %x, %w, %b {padding = array<i64: 1>} : (tensor<2x2x5x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x7xf32>
  return
}

// -----

func.func @case10(%x: tensor<2x2x5x7xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{expects bias of 4 output channels, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : (tensor<2x2x5x7xf32>, tensor<4x2x3x3xf32>, tensor<3xf32>) -> tensor<2x4x5x7xf32>
  return
}

// -----

func.func @case11(%x: tensor<2x3x5x7xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{expects weight of 3 input channels, got 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : (tensor<2x3x5x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x7xf32>
  return
}

// -----

func.func @case12(%x: tensor<2x2x5x7xf32>, %w: tensor<4x2x3x3xbf16>, %b: tensor<4xf32>) {
  // expected-error @+2 {{expects input and weight to have the same element type, got 'f32' and 'bf16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : (tensor<2x2x5x7xf32>, tensor<4x2x3x3xbf16>, tensor<4xf32>) -> tensor<2x4x5x7xf32>
  return
}

// -----

func.func @case13(%x: tensor<2x2x1x1xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{expects the padded input to cover the kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv2d %x, %w, %b {padding = array<i64: 0, 0>} : (tensor<2x2x1x1xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<2x4x1x1xf32>
  return
}

// -----

func.func @case14(%x: tensor<2x4x5x7xf32>, %w: tensor<3x8x3x3xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{expects weight of 4 input channels, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv_transpose2d %x, %w, %b {padding = array<i64: 1, 1>} : (tensor<2x4x5x7xf32>, tensor<3x8x3x3xf32>, tensor<8xf32>) -> tensor<2x8x5x7xf32>
  return
}

// -----

func.func @case15(%x: tensor<2x4x1x1xf32>, %w: tensor<4x8x3x3xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{expects padding smaller than the kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv_transpose2d %x, %w, %b {padding = array<i64: 3, 3>} : (tensor<2x4x1x1xf32>, tensor<4x8x3x3xf32>, tensor<8xf32>) -> tensor<2x8x1x1xf32>
  return
}

// -----

func.func @case16(%x: tensor<6x10x5xf32>, %w: tensor<8x4x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{expects weight of 5 input channels, got 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv1d %x, %w, %b {stride = 1 : i64} : (tensor<6x10x5xf32>, tensor<8x4x4xf32>, tensor<8xf32>) -> tensor<6x7x8xf32>
  return
}

// -----

func.func @case17(%x: tensor<6x3x4xf32>, %w: tensor<8x4x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{expects rows of at least the kernel size (4), got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv1d %x, %w, %b {stride = 1 : i64} : (tensor<6x3x4xf32>, tensor<8x4x4xf32>, tensor<8xf32>) -> tensor<6x1x8xf32>
  return
}

// -----

func.func @case18(%x: tensor<6x7x8xf32>, %w: tensor<4x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{expects weight of 8 input channels, got 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.conv_transpose1d %x, %w, %b {stride = 1 : i64} : (tensor<6x7x8xf32>, tensor<4x4x4xf32>, tensor<4xf32>) -> tensor<6x10x4xf32>
  return
}

// -----

func.func @case19(%x: tensor<8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{expects an input of rank >= 2, got 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.group_norm %x, %g, %b {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @case20(%x: tensor<2x4x5xf32>, %g: tensor<3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{expects gamma of 4 channels, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.group_norm %x, %g, %b {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<2x4x5xf32>, tensor<3xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
  return
}

// -----

func.func @case21(%x: tensor<6x10x6xf32>, %g: tensor<6xf32>) {
  // expected-error @+2 {{expects channels (6) divisible by num_groups (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.rms_group_norm %x, %g {eps = 1.0e-05 : f64, num_groups = 4 : i64} : (tensor<6x10x6xf32>, tensor<6xf32>) -> tensor<6x10x6xf32>
  return
}

// -----

func.func @case22(%x: tensor<6x10x4xf32>, %w: tensor<12x5xf32>) {
  // expected-error @+2 {{expects weight [N, 4], got 'tensor<12x5xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.linear %x, %w : (tensor<6x10x4xf32>, tensor<12x5xf32>) -> tensor<6x10x12xf32>
  return
}

// -----

func.func @case23(%a: tensor<6x10x4xf32>, %b: tensor<6x4xf32>) {
  // expected-error @+2 {{expects operands of equal rank >= 3, got 'tensor<6x10x4xf32>' and 'tensor<6x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.batch_matmul %a, %b : (tensor<6x10x4xf32>, tensor<6x4xf32>) -> tensor<6x10x4xf32>
  return
}

// -----

func.func @case24(%a: tensor<6x10x4xf32>, %b: tensor<5x4x3xf32>) {
  // expected-error @+2 {{expects equal batch dims, got 'tensor<6x10x4xf32>' and 'tensor<5x4x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.batch_matmul %a, %b : (tensor<6x10x4xf32>, tensor<5x4x3xf32>) -> tensor<6x10x3xf32>
  return
}

// -----

func.func @case25(%a: tensor<6x10x4xf32>, %b: tensor<6x10x4xf32>) {
  // expected-error @+2 {{expects contraction dims to match, got 4 and 10}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.batch_matmul %a, %b : (tensor<6x10x4xf32>, tensor<6x10x4xf32>) -> tensor<6x10x4xf32>
  return
}

// -----

func.func @case26(%x: tensor<6x10x3xf32>) {
  // expected-error @+2 {{expects an even head dim, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.rope %x {theta = 1.0e+04 : f64} : (tensor<6x10x3xf32>) -> tensor<6x10x3xf32>
  return
}

// -----

func.func @case27(%x: tensor<6x10x4xf32>) {
  // expected-error @+2 {{expects theta > 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.rope %x {theta = 1.0 : f64} : (tensor<6x10x4xf32>) -> tensor<6x10x4xf32>
  return
}

// -----

func.func @case28(%x: tensor<4xf32>) {
  // expected-error @+2 {{expects an input [..., L, d], got 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.rope %x {theta = 1.0e+04 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case29(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects dim < rank (2), got 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.softmax %x {dim = 2 : i64} : (tensor<6x10xf32>) -> tensor<6x10xf32>
  return
}

// -----

func.func @case30(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects 0 <= p < 1, got 1.000000e+00}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.dropout %x {p = 1.0 : f64, rng = #loco.rng<stream = 0>} : (tensor<6x10xf32>) -> tensor<6x10xf32>
  return
}

// -----

func.func @case31(%x: tensor<6x10xf32>) {
  // expected-error @+1 {{'loco.reshape' op expects equal element counts, got 60 and 70}}
  %y = loco.reshape %x : tensor<6x10xf32> -> tensor<7x10xf32>
  return
}

// -----

func.func @case32(%x: tensor<6x10xf32>) {
  // expected-error @+1 {{'loco.reshape' op expects the element type to be kept, got 'f32' and 'bf16'}}
  %y = loco.reshape %x : tensor<6x10xf32> -> tensor<60xbf16>
  return
}

// -----

func.func @case33(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects a permutation of 2 dims, got 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.transpose %x {permutation = array<i64: 0>} : (tensor<6x10xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @case34(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects a permutation of [0, 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.transpose %x {permutation = array<i64: 1, 1>} : (tensor<6x10xf32>) -> tensor<10x10xf32>
  return
}

// -----

func.func @case35(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects dim < rank (2), got 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.slice %x {dim = 2 : i64, size = 1 : i64, start = 0 : i64} : (tensor<6x10xf32>) -> tensor<6x10xf32>
  return
}

// -----

func.func @case36(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects start + size <= 10, got 11}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.slice %x {dim = 1 : i64, size = 4 : i64, start = 7 : i64} : (tensor<6x10xf32>) -> tensor<6x4xf32>
  return
}

// -----

func.func @case37(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects low and high of 2 entries each}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.pad %x {high = array<i64: 0>, low = array<i64: 0, 1>} : (tensor<6x10xf32>) -> tensor<6x11xf32>
  return
}

// -----

func.func @case38(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects non-negative padding}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.pad %x {high = array<i64: 0, -1>, low = array<i64: 0, 1>} : (tensor<6x10xf32>) -> tensor<6x10xf32>
  return
}

// -----

func.func @case39(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects at least one reduced dim}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.reduce_sum %x {dims = array<i64>} : (tensor<6x10xf32>) -> tensor<6x10xf32>
  return
}

// -----

func.func @case40(%x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects distinct sorted dims in [0, 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.reduce_mean %x {dims = array<i64: 1, 0>} : (tensor<6x10xf32>) -> tensor<f32>
  return
}

// -----

func.func @case41(%e: tensor<2x10xf32>, %t: tensor<2x11xf32>) {
  // expected-error @+2 {{expects estimate and target of one type, got 'tensor<2x10xf32>' and 'tensor<2x11xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.si_sdr %e, %t {eps = 1.0e-08 : f64} : (tensor<2x10xf32>, tensor<2x11xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @case42(%e: tensor<2x3x5x9xf32>, %t: tensor<2x3x5x9xf32>) {
  // expected-error @+2 {{expects spectra of 2 channels (real, imaginary), got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.spectral_l1 %e, %t : (tensor<2x3x5x9xf32>, tensor<2x3x5x9xf32>) -> tensor<f32>
  return
}

// -----

func.func @case43(%a: tensor<2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'loco.add' op requires the same type for all operands and results}}
  %y = "loco.add"(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @case44(%x: tensor<f32>, %g: tensor<4xf32>) {
  // expected-error @+2 {{expects an input of rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.rms_group_norm %x, %g {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<f32>, tensor<4xf32>) -> tensor<f32>
  return
}

// -----

func.func @case45(%x: tensor<f32>, %w: tensor<4x4xf32>) {
  // expected-error @+2 {{expects an input of rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.linear %x, %w : (tensor<f32>, tensor<4x4xf32>) -> tensor<f32>
  return
}

// -----

func.func @case46(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xbf16>) {
  // expected-error @+2 {{expects lhs and rhs to have the same element type, got 'f32' and 'bf16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.batch_matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x4x5xbf16>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @case47(%x: tensor<2x6x5xf32>, %g: tensor<6xf32>, %b: tensor<6xf32>) {
  // expected-error @+2 {{expects channels (6) divisible by num_groups (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.group_norm %x, %g, %b {eps = 1.0e-05 : f64, num_groups = 4 : i64} : (tensor<2x6x5xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @case48(%x: tensor<2x4x5xf32>, %g: tensor<4xf32>, %b: tensor<5xf32>) {
  // expected-error @+2 {{expects beta of 4 channels, got 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.group_norm %x, %g, %b {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<2x4x5xf32>, tensor<4xf32>, tensor<5xf32>) -> tensor<2x4x5xf32>
  return
}

// -----

func.func @case49(%x: tensor<2x4096xf32>) {
  // expected-error @+1 {{'loco.istft' op operand #0 must be 4D tensor of 32-bit float values, but got 'tensor<2x4096xf32>'}}
  %y = loco.istft %x {hop_length = 64 : i64, length = 10 : i64, n_fft = 255 : i64} : (tensor<2x4096xf32>) -> tensor<2x10xf32>
  return
}

// -----

// Norm statistics run in f32: no reduced-precision kernel exists for them.
func.func @norm_bf16(%x: tensor<6x10x4xbf16>, %g: tensor<4xbf16>) -> tensor<6x10x4xbf16> {
  // expected-error @+1 {{'loco.rms_group_norm' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<6x10x4xbf16>'}}
  %y = loco.rms_group_norm %x, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<6x10x4xbf16>, tensor<4xbf16>) -> tensor<6x10x4xbf16>
  return %y : tensor<6x10x4xbf16>
}

// -----

func.func @cast_same(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'loco.cast' op expects a change of element type, got 'tensor<4xf32>' to 'tensor<4xf32>'}}
  %y = loco.cast %x : tensor<4xf32> to tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @cast_half_to_half(%x: tensor<4xbf16>) -> tensor<4xf16> {
  // expected-error @+1 {{'loco.cast' op expects f32 on one side, got 'tensor<4xbf16>' to 'tensor<4xf16>'}}
  %y = loco.cast %x : tensor<4xbf16> to tensor<4xf16>
  return %y : tensor<4xf16>
}

// -----

func.func @cast_shape(%x: tensor<4xf32>) -> tensor<2xbf16> {
  // expected-error @+1 {{'loco.cast' op requires the same shape for all operands and results}}
  %y = loco.cast %x : tensor<4xf32> to tensor<2xbf16>
  return %y : tensor<2xbf16>
}

// -----

func.func @attention_mixed(%q: tensor<2x3x4xbf16>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xbf16>) -> tensor<2x3x4xbf16> {
  // expected-error @+2 {{expects query and key to have the same element type, got 'bf16' and 'f32'}}
  // expected-error @+1 {{'loco.flash_attention' op failed to infer returned types}}
  %o, %lse = loco.flash_attention %q, %k, %v {dropout = 0.0 : f64, scale = 0.5 : f64} : (tensor<2x3x4xbf16>, tensor<2x3x4xf32>, tensor<2x3x4xbf16>) -> (tensor<2x3x4xbf16>, tensor<2x3xf32>)
  return %o : tensor<2x3x4xbf16>
}

// -----

func.func @dropout_add_probability(%r: tensor<6x10xf32>, %x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects 0 <= p < 1, got 1.000000e+00}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.dropout_add %r, %x {p = 1.0 : f64, rng = #loco.rng<stream = 0>} : (tensor<6x10xf32>, tensor<6x10xf32>) -> tensor<6x10xf32>
  return
}

// -----

func.func @dropout_add_shapes(%r: tensor<6x10xf32>, %x: tensor<6x5xf32>) {
  // expected-error @+2 {{expects a residual and an input of one shape, got 'tensor<6x10xf32>' and 'tensor<6x5xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.dropout_add %r, %x {p = 0.1 : f64, rng = #loco.rng<stream = 0>} : (tensor<6x10xf32>, tensor<6x5xf32>) -> tensor<6x10xf32>
  return
}

// -----

// A reduced input widens into an f32 residual only: no kernel narrows an
// f32 input into a bf16 residual.
func.func @dropout_add_narrowing(%r: tensor<6x10xbf16>, %x: tensor<6x10xf32>) {
  // expected-error @+2 {{expects the input's element type, or an f32 residual, got 'tensor<6x10xbf16>' and 'tensor<6x10xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = loco.dropout_add %r, %x {p = 0.1 : f64, rng = #loco.rng<stream = 0>} : (tensor<6x10xbf16>, tensor<6x10xf32>) -> tensor<6x10xbf16>
  return
}
