"""A model as an ONNX graph, for runtimes outside Python (onnxruntime, browsers, phones).

Layered models only: an ``nn.Sequential`` (nested ones too) of the layers below, each turned
into the ONNX operator that computes the same thing in eval mode (dropout is the identity,
BatchNorm uses its running statistics). The batch dimension stays symbolic (``N``). Anything
else is a clear error naming the layer, not a wrong graph. Needs the ``onnx`` package.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from dlcore import nn
from dlcore.tensor import no_grad, zeros
from dlcore.ops.conv import _padding as conv_sides

OPSET = 17


def to_onnx(model: nn.Module, input_shape: tuple[int, ...], name: str = "dlcore",
            properties: dict[str, str] | None = None) -> bytes:
    """The serialized ONNX model of ``model`` for inputs of shape ``(N, *input_shape)`` (the
    inputs as the model sees them, after any normalisation); ``properties`` become the
    model's metadata_props (a run's config and data metadata, e.g. that normalisation)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ValueError("ONNX export needs the onnx package: pip install 'dlcore[export]' "
                         "(or pip install onnx)") from None
    nodes, weights = [], []
    current = "input"
    for path, layer in _layers(model, ""):
        convert = _CONVERTERS.get(type(layer))
        if convert is None:
            supported = ", ".join(sorted(cls.__name__ for cls in _CONVERTERS))
            raise ValueError(f"ONNX export: layer {path or '(model)'} is a "
                             f"{type(layer).__name__}, which it cannot write yet; it writes "
                             f"Sequential models of {supported}")
        out = f"{path or 'layer'}.out"
        prefix = path or "layer"

        def weight(key: str, value: np.ndarray) -> str:
            weights.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32),
                                                   f"{prefix}.{key}"))
            return f"{prefix}.{key}"

        op, inputs, attributes = convert(layer, weight)
        nodes.append(helper.make_node(op, [current, *inputs], [out], name=prefix, **attributes))
        current = out
    nodes.append(helper.make_node("Identity", [current], ["output"], name="output"))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                       ["N", *_output_shape(model, input_shape)])], weights)
    proto = helper.make_model(graph, producer_name="dlcore",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = 8  # what onnxruntime releases of the last years all read
    if properties:
        helper.set_model_props(proto, properties)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _output_shape(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """One sample's output shape, from a forward pass on zeros."""
    with no_grad():
        return model(zeros(1, *input_shape)).shape[1:]


def _layers(module: nn.Module, path: str) -> Iterator[tuple[str, nn.Module]]:
    """The leaf layers of nested Sequentials, in order, with their paths."""
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _layers(child, f"{path}.{name}" if path else name)
    else:
        yield path, module


Weight = Callable[[str, np.ndarray], str]


def _linear(layer, weight: Weight):
    inputs = [weight("weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(weight("bias", layer.bias.data))
    return "Gemm", inputs, {"transB": 1}


def _conv(layer, weight: Weight):
    top, bottom, left, right = conv_sides(layer.padding, layer.kernel_size, layer.stride,
                                          layer.dilation)
    inputs = [weight("weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(weight("bias", layer.bias.data))
    return "Conv", inputs, {"kernel_shape": list(layer.kernel_size),
                            "strides": list(layer.stride), "dilations": list(layer.dilation),
                            "pads": [top, left, bottom, right], "group": layer.groups}


def _pool(op: str):
    def convert(layer, weight: Weight):
        ph, pw = layer.padding
        attributes = {"kernel_shape": list(layer.kernel_size), "strides": list(layer.stride),
                      "pads": [ph, pw, ph, pw]}
        if op == "AveragePool":
            attributes["count_include_pad"] = int(layer.count_include_pad)
        return op, [], attributes
    return convert


def _flatten(layer, weight: Weight):
    if layer.start_dim != 1 or layer.end_dim != -1:
        raise ValueError(f"ONNX export writes Flatten(start_dim=1, end_dim=-1) only, got "
                         f"start_dim={layer.start_dim}, end_dim={layer.end_dim}")
    return "Flatten", [], {"axis": 1}


def _batch_norm(layer, weight: Weight):
    size = layer.num_features
    scale = layer.weight.data if layer.affine else np.ones(size, np.float32)
    shift = layer.bias.data if layer.affine else np.zeros(size, np.float32)
    if layer.running_mean is None:
        raise ValueError("ONNX export needs BatchNorm's running statistics "
                         "(track_running_stats=True)")
    return "BatchNormalization", [
        weight("weight", scale), weight("bias", shift),
        weight("running_mean", layer.running_mean.data),
        weight("running_var", layer.running_var.data)], {"epsilon": float(layer.eps)}


def _global_pool(layer, weight: Weight):
    if layer.output_size not in (1, (1, 1)):
        raise ValueError(f"ONNX export writes AdaptiveAvgPool2d(1) only, got "
                         f"output_size={layer.output_size}")
    return "GlobalAveragePool", [], {}


def _simple(op: str, **attributes):
    return lambda layer, weight: (op, [], attributes)


_CONVERTERS: dict[type, Callable] = {
    nn.Linear: _linear, nn.Conv2d: _conv, nn.Flatten: _flatten,
    nn.MaxPool2d: _pool("MaxPool"), nn.AvgPool2d: _pool("AveragePool"),
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm,
    nn.AdaptiveAvgPool2d: _global_pool,
    nn.ReLU: _simple("Relu"), nn.Sigmoid: _simple("Sigmoid"), nn.Tanh: _simple("Tanh"),
    nn.Dropout: _simple("Identity"), nn.Identity: _simple("Identity"),
    nn.LeakyReLU: lambda layer, weight: ("LeakyRelu", [], {"alpha": layer.negative_slope}),
}
