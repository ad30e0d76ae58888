// RUN: loco-opt %s -loco-check-target-limits=target=cuda -split-input-file -verify-diagnostics
// RUN: loco-opt %s -loco-check-target-limits=target=cpu -split-input-file | FileCheck %s --check-prefix=CPU

// The CUDA kernels' fixed limits (runtime/abi/CudaLimits.h), checked on the
// scalars each op's runtime call will pass; the CPU target has none, so
// every module below passes there unchanged.
// CPU-COUNT-6: func.func @train_step

// Head dim 64, the attention tiles' widest, and 2049 signals at 8
// statistics each (16392) against the 16384 statistic slots: only the
// second is refused.
module {
  func.func @train_step(%q: tensor<2x3x5x64xf32>, %e: tensor<2049x8xf32>)
      -> (tensor<2x3x5x64xf32>, tensor<2049xf32>) {
    %o, %lse = loco.flash_attention %q, %q, %q {dropout = 0.0 : f64, scale = 0.125 : f64} : (tensor<2x3x5x64xf32>, tensor<2x3x5x64xf32>, tensor<2x3x5x64xf32>) -> (tensor<2x3x5x64xf32>, tensor<2x3x5xf32>)
    // expected-error @+1 {{target cuda cannot run this step: loco_si_sdr: 16392 statistics (8 per signal) exceed the fixed workspace's statistic slots, 16384 (set by the micro-batch: training.batch_size or --micro-batch)}}
    %s = loco.si_sdr %e, %e {eps = 1.0e-08 : f64} : (tensor<2049x8xf32>, tensor<2049x8xf32>) -> tensor<2049xf32>
    return %o, %s : tensor<2x3x5x64xf32>, tensor<2049xf32>
  }
}

// -----

// Head dim 128 (model.attention_dim 256 over 2 heads).
module {
  func.func @train_step(%q: tensor<2x3x5x128xf32>) -> tensor<2x3x5x128xf32> {
    // expected-error @+1 {{loco_flash_attention: head dims 128/128 are outside the attention tiles' 1..64 (set by model.attention_dim / model.n_heads; lococ --fuse-attention=false runs attention unfused)}}
    %o, %lse = loco.flash_attention %q, %q, %q {dropout = 0.0 : f64, scale = 0.125 : f64} : (tensor<2x3x5x128xf32>, tensor<2x3x5x128xf32>, tensor<2x3x5x128xf32>) -> (tensor<2x3x5x128xf32>, tensor<2x3x5xf32>)
    return %o : tensor<2x3x5x128xf32>
  }
}

// -----

// The RMSGroupNorm gamma gradient takes one thread per channel: 1024 fit,
// 1040 do not.
module {
  func.func @train_step(%x: tensor<3x1024xf32>, %g: tensor<1024xf32>, %y: tensor<3x1040xf32>, %h: tensor<1040xf32>)
      -> (tensor<3x1024xf32>, tensor<3x1040xf32>) {
    %dx, %dg = loco.rms_group_norm_backward %x, %g, %x {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<3x1024xf32>, tensor<1024xf32>, tensor<3x1024xf32>) -> (tensor<3x1024xf32>, tensor<1024xf32>)
    // expected-error @+1 {{loco_rms_group_norm_backward: 1040 channels exceed the gamma gradient's threads per block, 1024 (set by model.emb_dim)}}
    %dy, %dh = loco.rms_group_norm_backward %y, %h, %y {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<3x1040xf32>, tensor<1040xf32>, tensor<3x1040xf32>) -> (tensor<3x1040xf32>, tensor<1040xf32>)
    return %dx, %dy : tensor<3x1024xf32>, tensor<3x1040xf32>
  }
}

// -----

// The movement kernels index at most 16 dimensions.
module {
  func.func @train_step(%x: tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x2xf32>) -> tensor<2x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32> {
    // expected-error @+1 {{loco_transpose: rank 17 is outside 1..16 (set by the model's layout)}}
    %t = loco.transpose %x {permutation = array<i64: 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0>} : (tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x2xf32>) -> tensor<2x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>
    return %t : tensor<2x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>
  }
}

// -----

// The group norm backward keeps 4 statistics per (sample, group):
// 4 x 4097 x 1 = 16388 > 16384.
module {
  func.func @train_step(%x: tensor<4097x2x3xf32>, %w: tensor<2xf32>) -> tensor<4097x2x3xf32> {
    // expected-error @+1 {{loco_group_norm_backward: 16388 statistics exceed the fixed workspace's statistic slots, 16384}}
    %dx, %dg, %db = loco.group_norm_backward %x, %w, %x {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<4097x2x3xf32>, tensor<2xf32>, tensor<4097x2x3xf32>) -> (tensor<4097x2x3xf32>, tensor<2xf32>, tensor<2xf32>)
    return %dx : tensor<4097x2x3xf32>
  }
}

// -----

// The other rows through their ops, each one past its limit: the group
// norm's 2 statistics per sample (2 x 8193 > 16384), SI-SDR's backward, a
// 1-D convolution weight gradient of 65536 taps (the grid's z holds 65535)
// and a reduction of rank 17.
module {
  func.func @train_step(%x: tensor<8193x2x3xf32>, %w: tensor<2xf32>, %e: tensor<2049x8xf32>, %s: tensor<2049xf32>,
                        %cx: tensor<1x65536x1xf32>, %cg: tensor<1x1x1xf32>, %r: tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x2xf32>)
      -> (tensor<8193x2x3xf32>, tensor<2049x8xf32>, tensor<1x1x65536xf32>, tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>) {
    // expected-error @+1 {{loco_group_norm: 16386 statistics exceed the fixed workspace's statistic slots, 16384 (set by the micro-batch: training.batch_size or --micro-batch, --batch-segments when separating)}}
    %y = loco.group_norm %x, %w, %w {eps = 1.0e-05 : f64, num_groups = 1 : i64} : (tensor<8193x2x3xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<8193x2x3xf32>
    // expected-error @+1 {{loco_si_sdr_backward: 16392 statistics (8 per signal) exceed}}
    %de = loco.si_sdr_backward %e, %e, %s {eps = 1.0e-08 : f64} : (tensor<2049x8xf32>, tensor<2049x8xf32>, tensor<2049xf32>) -> tensor<2049x8xf32>
    // expected-error @+1 {{loco_conv1d_weight_grad: 65536 taps exceed the grid's z limit, 65535 (set by model.conv1d_kernel}}
    %dw = loco.conv1d_weight_grad %cx, %cg : (tensor<1x65536x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x65536xf32>
    // expected-error @+1 {{loco_reduce: rank 17 is outside 1..16}}
    %m = loco.reduce_sum %r {dims = array<i64: 16>, keepdim} : (tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x2xf32>) -> tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>
    return %y, %de, %dw, %m : tensor<8193x2x3xf32>, tensor<2049x8xf32>, tensor<1x1x65536xf32>, tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>
  }
}
