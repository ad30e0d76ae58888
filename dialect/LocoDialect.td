//===- LocoDialect.td - The loco dialect -------------------*- tablegen -*-===//
//
// The loco dialect expresses the TF-Locoformer forward pass, loss and (later)
// backward pass op by op on builtin ranked tensors, as the upstream PyTorch
// model computes them.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_DIALECT_TD
#define LOCO_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Loco_Dialect : Dialect {
  let name = "loco";
  let cppNamespace = "::mlir::loco";
  let summary = "Ops of the TF-Locoformer training step on ranked tensors";
  let description = [{
    The `loco` dialect holds the training step of a TF-Locoformer music source
    separation model: STFT, the convolutional encoder and decoder, the
    dual-path Locoformer blocks (RMSGroupNorm, multi-head self-attention with
    RoPE, SwiGLU conv-deconv feed-forward networks), the inverse STFT and the
    loss terms. Ops work on builtin ranked tensors of f32 (bf16 and f16 are
    admitted for mixed precision). Shapes are static.

    Ops created by the frontend carry locations that lead back to the YAML key
    that made them (`config.yaml:LINE:COL`) wrapped in a name such as
    `blocks.3.frame_path.attn`, the upstream module path.
  }];
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class Loco_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Loco_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Loco_RngKeyAttr : Loco_Attr<"RngKey", "rng"> {
  let summary = "Key of a counter-based random stream";
  let description = [{
    Random numbers in loco come from a counter-based generator (Philox 4x32-10).
    A value is a pure function of `(seed, step, stream, element index)`: the
    seed and the optimizer step are runtime inputs, `stream` is this
    attribute's compile-time integer, unique per random op in a module, and the
    element index is the linear index into the op's result plus `offset`.
    Recomputing the op (rematerialisation) therefore reproduces the same
    numbers exactly, and the CPU and GPU backends agree bit for bit. Row
    chunking gives the op on rows `[r0, r1)` the offset of row `r0` in the
    whole tensor, so that the chunks together draw exactly the whole op's
    numbers; `extent` then records the whole op's element count (0: the
    op's own).

    Data parallelism: replica `r` of a step draws at index
    `r * extent + offset + i`, the index its samples have in the step of
    one process with every replica's batch (the batch is the outermost
    dimension of every tensor, and replicas hold consecutive blocks of the
    global batch). Replica 0 draws exactly as a single process does.

    Examples: `#loco.rng<stream = 7>`, `#loco.rng<stream = 7, offset = 4128>`,
    `#loco.rng<stream = 7, offset = 4128, extent = 8256>`
  }];
  let parameters = (ins "uint64_t":$stream,
                        DefaultValuedParameter<"int64_t", "0">:$offset,
                        DefaultValuedParameter<"int64_t", "0">:$extent);
  let assemblyFormat = "`<` `stream` `=` $stream (`,` `offset` `=` $offset^)? "
                       "(`,` `extent` `=` $extent^)? `>`";
}

#endif // LOCO_DIALECT_TD
