//===- LocoInterfaces.td - Op interfaces of loco -----------*- tablegen -*-===//
//
// Per-op behaviour that passes query without switching over op kinds: the
// gradient rule (autodiff), the recompute cost (rematerialisation) and the
// row-independent dimensions (row chunking).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_INTERFACES_TD
#define LOCO_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Loco_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::mlir::loco";
  let description = [{
    The vector-Jacobian product of an op. Given the cotangent of every result
    (a null Value where a result does not reach the loss), the op builds, at
    the builder's insertion point, the cotangent of every operand and appends
    it to `operandGrads` (a null Value for operands that get no gradient, such
    as integer indices). Returns failure with a diagnostic when the rule is not
    available for the op's configuration.
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/"Builds the cotangents of the operands from those of the results.",
      /*retTy=*/"::llvm::LogicalResult",
      /*methodName=*/"buildGradient",
      /*args=*/(ins "::mlir::OpBuilder &":$builder,
                    "::mlir::ValueRange":$resultGrads,
                    "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

def Loco_RecomputeCostOpInterface : OpInterface<"RecomputeCostOpInterface"> {
  let cppNamespace = "::mlir::loco";
  let description = [{
    What it costs to compute the op once, for the rematerialisation cost model:
    floating-point operations (a multiply-add counts 2) and bytes read plus
    written at the op's element types. Ops that only reinterpret a buffer
    (reshape) report zero of both.
  }];
  let methods = [
    InterfaceMethod<"Floating-point operations of one evaluation.",
      "int64_t", "getFlops", (ins), [{}], [{
        return ::mlir::loco::detail::defaultFlops($_op);
      }]>,
    InterfaceMethod<"Bytes read and written by one evaluation.",
      "int64_t", "getBytesMoved", (ins), [{}], [{
        return ::mlir::loco::detail::defaultBytesMoved($_op);
      }]>
  ];
}

def Loco_RowIndependentOpInterface : OpInterface<"RowIndependentOpInterface"> {
  let cppNamespace = "::mlir::loco";
  let description = [{
    The leading result dimensions along which the op is independent: slicing
    every shaped operand and the result along those dimensions to the same
    range and computing on the slice gives the same slice of the result. Row
    chunking uses this to run a Locoformer block a chunk of rows at a time.
    Operands that are not sliced (weights) are those whose rank is smaller
    than the number of row dimensions or that `isBroadcastOperand` names.
  }];
  let methods = [
    InterfaceMethod<"Number of leading result dimensions that are row-independent.",
      "unsigned", "getNumRowDims", (ins), [{}], [{
        // Conservative: treat the op as a global computation.
        return 0;
      }]>,
    InterfaceMethod<"Whether operand `index` is used whole by every row chunk.",
      "bool", "isBroadcastOperand", (ins "unsigned":$index), [{}], [{
        return ::mlir::loco::detail::defaultIsBroadcastOperand($_op, index);
      }]>
  ];
}

def Loco_RuntimeCallOpInterface : OpInterface<"RuntimeCallOpInterface"> {
  let cppNamespace = "::mlir::loco";
  let description = [{
    How an op runs on the runtime's C ABI (runtime/abi/api.h): the name of the
    kernel and its trailing scalar arguments. The call passes the context,
    then one buffer per operand, then the result buffer, then the scalars:
    integer attributes become `int64_t`, float attributes `double`, and
    dense i64 arrays pointers to constant `int64_t` arrays. An op whose
    function name is empty is a view: its result aliases operand 0.
  }];
  let methods = [
    InterfaceMethod<"The runtime function, or empty for a view.",
      "::llvm::StringRef", "getRuntimeFunction", (ins)>,
    InterfaceMethod<"Appends the scalar arguments after the buffers.",
      "void", "getRuntimeScalars",
      (ins "::llvm::SmallVectorImpl<::mlir::Attribute> &":$scalars)>,
    InterfaceMethod<[{Scratch bytes the kernel takes from the arena's
      workspace region (runtime/abi/Workspace.h).}],
      "int64_t", "getWorkspaceBytes", (ins), [{}], [{ return 0; }]>,
    InterfaceMethod<[{Whether the kernel may write its result over operand
      `index` (same size; read element by element before it is written).}],
      "bool", "allowsInPlace", (ins "unsigned":$index), [{}],
      [{ return false; }]>
  ];
}

#endif // LOCO_INTERFACES_TD
