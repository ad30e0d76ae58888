// RUN: loco-opt %s -loco-strip-dropout | FileCheck %s --check-prefixes=CHECK,ALL
// RUN: loco-opt %s -loco-strip-dropout=only-zero | FileCheck %s --check-prefixes=CHECK,ZERO

// CHECK-LABEL: func.func @dropouts
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
func.func @dropouts(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK-NOT: p = 0.0
  %0 = loco.dropout %x {p = 0.0 : f64, rng = #loco.rng<stream = 0>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // ZERO: %[[D:.*]] = loco.dropout %[[X]] {p = 1.000000e-01 : f64, rng = #loco.rng<stream = 1>}
  %1 = loco.dropout %x {p = 0.1 : f64, rng = #loco.rng<stream = 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // ALL-NOT: loco.dropout
  // ALL: %[[S:.*]] = loco.add %[[X]], %[[X]] : tensor<4x8xf32>
  // ZERO: %[[S:.*]] = loco.add %[[X]], %[[D]] : tensor<4x8xf32>
  %2 = loco.add %0, %1 : tensor<4x8xf32>
  // CHECK: return %[[S]]
  return %2 : tensor<4x8xf32>
}
