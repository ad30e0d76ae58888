// RUN: loco-opt %s -loco-chunk-rows=chunks=2 | FileCheck %s
// RUN: loco-opt %s -loco-chunk-rows | FileCheck %s --check-prefix=ONE
// RUN: loco-opt %s -loco-chunk-rows=chunks=64 | FileCheck %s --check-prefix=MANY

// A path: rows = batch x frames, a norm, a dropout, the residual, then the
// rows are unflattened again. Each chunk of the dropout draws at its offset
// and keeps the whole op's element count (extent: data parallelism).
// CHECK-LABEL: func.func @path
// CHECK: %[[R:.*]] = loco.reshape
// CHECK: %[[S:.*]]:2 = loco.split %[[R]] {loco.region = 0 : i64, sizes = array<i64: 3, 3>}
// CHECK-SAME: -> (tensor<3x4x8xf32>, tensor<3x4x8xf32>)
// CHECK: %[[N0:.*]] = loco.rms_group_norm %[[S]]#0, %{{.*}} {{{.*}}loco.chunk = array<i64: 0, 0>
// CHECK: %[[D0:.*]] = loco.dropout %[[N0]] {loco.chunk = array<i64: 0, 0>, p = 1.000000e-01 : f64, rng = #loco.rng<stream = 5, extent = 192>}
// CHECK: %[[Y0:.*]] = loco.add %[[S]]#0, %[[D0]] {loco.chunk = array<i64: 0, 0>} : tensor<3x4x8xf32>
// CHECK: %[[N1:.*]] = loco.rms_group_norm %[[S]]#1
// The second chunk draws from element 3 rows x 32 = 96 on.
// CHECK: %[[D1:.*]] = loco.dropout %[[N1]] {loco.chunk = array<i64: 0, 1>, p = 1.000000e-01 : f64, rng = #loco.rng<stream = 5, offset = 96, extent = 192>}
// CHECK: %[[Y1:.*]] = loco.add %[[S]]#1, %[[D1]]
// CHECK: %[[Y:.*]] = loco.concat %[[Y0]], %[[Y1]] {loco.region = 0 : i64} : (tensor<3x4x8xf32>, tensor<3x4x8xf32>) -> tensor<6x4x8xf32>
// CHECK: loco.reshape %[[Y]] : tensor<6x4x8xf32> -> tensor<2x3x4x8xf32>
// ONE-NOT: loco.split
// ONE: loco.row_chunks = [{chunks = 1 : i64, ops = 3 : i64, region = 0 : i64, rows = 6 : i64}, {chunks = 1
// More chunks than rows: one row each.
// MANY: loco.split %{{.*}} {loco.region = 0 : i64, sizes = array<i64: 1, 1, 1, 1, 1, 1>}
func.func @path(%x: tensor<2x3x4x8xf32>, %g: tensor<8xf32>) -> tensor<2x3x4x8xf32> {
  %r = loco.reshape %x : tensor<2x3x4x8xf32> -> tensor<6x4x8xf32>
  %n = loco.rms_group_norm %r, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64} : (tensor<6x4x8xf32>, tensor<8xf32>) -> tensor<6x4x8xf32>
  %d = loco.dropout %n {p = 0.1 : f64, rng = #loco.rng<stream = 5>} : (tensor<6x4x8xf32>) -> tensor<6x4x8xf32>
  %y = loco.add %r, %d : tensor<6x4x8xf32>
  %o = loco.reshape %y : tensor<6x4x8xf32> -> tensor<2x3x4x8xf32>
  return %o : tensor<2x3x4x8xf32>
}

// Attention inside a region: the row dim moves through the head transpose
// and back; the dropout offset of a chunk counts rows x heads x Lq x Lk.
// CHECK-LABEL: func.func @attention
// CHECK: loco.split %{{.*}} {loco.region = 1 : i64, sizes = array<i64: 2, 2>}
// CHECK: loco.transpose %{{.*}} {loco.chunk = array<i64: 1, 0>, permutation = array<i64: 1, 0, 2, 3>} : (tensor<2x3x5x4xf32>) -> tensor<3x2x5x4xf32>
// CHECK: loco.flash_attention {{.*}}rng = #loco.rng<stream = 2, extent = 300>{{.*}} -> (tensor<2x3x5x4xf32>, tensor<2x3x5xf32>)
// CHECK: loco.flash_attention {{.*}}rng = #loco.rng<stream = 2, offset = 150, extent = 300>
// CHECK: loco.concat {{.*}} -> tensor<4x3x5x4xf32>
func.func @attention(%x: tensor<2x2x3x5x4xf32>) -> tensor<2x2x3x5x4xf32> {
  %r = loco.reshape %x : tensor<2x2x3x5x4xf32> -> tensor<4x3x5x4xf32>
  %t = loco.transpose %r {permutation = array<i64: 1, 0, 2, 3>} : (tensor<4x3x5x4xf32>) -> tensor<3x4x5x4xf32>
  %u = loco.transpose %t {permutation = array<i64: 1, 0, 2, 3>} : (tensor<3x4x5x4xf32>) -> tensor<4x3x5x4xf32>
  %o, %lse = loco.flash_attention %u, %u, %u {dropout = 0.1 : f64, rng = #loco.rng<stream = 2>, scale = 0.5 : f64} : (tensor<4x3x5x4xf32>, tensor<4x3x5x4xf32>, tensor<4x3x5x4xf32>) -> (tensor<4x3x5x4xf32>, tensor<4x3x5xf32>)
  %y = loco.reshape %o : tensor<4x3x5x4xf32> -> tensor<2x2x3x5x4xf32>
  return %y : tensor<2x2x3x5x4xf32>
}

// Rows mixed by a reduction over them end the region before it; what
// remains is too small to chunk (one op).
// CHECK-LABEL: func.func @mixed
// CHECK-NOT: loco.split
func.func @mixed(%x: tensor<2x3x4xf32>) -> tensor<4xf32> {
  %r = loco.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %s = loco.silu %r : tensor<6x4xf32>
  %m = loco.reduce_sum %s {dims = array<i64: 0>} : (tensor<6x4xf32>) -> tensor<4xf32>
  return %m : tensor<4xf32>
}
