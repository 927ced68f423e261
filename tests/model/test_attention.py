import pytest
import torch

from masksem_core.model.attention import (
    chunked_attention,
    matmul_attention,
    preferred_attention_path,
)
from masksem_core.model.transformer import (
    MultiHeadSelfAttention,
    TransformerStack,
    attention_path,
)


def test_attention_paths_agree_in_value_and_gradient_to_fp32_tolerance():
    torch.manual_seed(0)
    stack = TransformerStack(dim=32, depth=2, num_heads=4, mlp_dim=64)
    x = torch.randn(3, 40, 32)
    results = {}
    for path in ("sdpa", "matmul", "chunked"):
        stack.zero_grad()
        with attention_path(stack, path):
            out = stack(x)
        out.square().sum().backward()
        results[path] = (out.detach(), [p.grad.clone() for p in stack.parameters()])
    for path in ("matmul", "chunked"):
        torch.testing.assert_close(results[path][0], results["sdpa"][0], atol=1e-5, rtol=1e-5)
        for a, b in zip(results[path][1], results["sdpa"][1], strict=True):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert all(m.path == "auto" for m in stack.modules() if isinstance(m, MultiHeadSelfAttention))


def test_bf16_attention_paths_agree_with_fp32_in_value_and_gradient():
    torch.manual_seed(0)
    stack = TransformerStack(dim=32, depth=2, num_heads=4, mlp_dim=64)
    x = torch.randn(2, 300, 32)

    def run(path: str, bf16: bool):
        stack.zero_grad()
        with attention_path(stack, path), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            out = stack(x).float()
        out.square().mean().backward()
        return out.detach(), torch.cat([p.grad.flatten() for p in stack.parameters()])

    reference, reference_grad = run("sdpa", bf16=False)
    for path in ("auto", "sdpa", "matmul", "chunked"):
        out, grad = run(path, bf16=True)
        torch.testing.assert_close(out, reference, atol=0.05, rtol=0.05)
        assert torch.linalg.vector_norm(grad - reference_grad) < 0.05 * reference_grad.norm()


def test_chunked_attention_over_uneven_chunks_equals_plain_attention():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    # 7 × 7 float64 scores are 392 bytes: a 1000-byte budget gives chunks of 2, 2, 2 sequences
    got = chunked_attention(q, k, v, score_bytes=1000)
    expected = matmul_attention(q, k, v)
    torch.testing.assert_close(got, expected)
    weights = torch.randn_like(got)
    grads = torch.autograd.grad((got * weights).sum(), (q, k, v))
    expected_grads = torch.autograd.grad((expected * weights).sum(), (q, k, v))
    for a, b in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(
        lambda *t: chunked_attention(*t, score_bytes=1000), (q, k, v), eps=1e-6
    )


def test_chunked_attention_keeps_no_score_matrix_for_backward():
    length = 50
    saved = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.shape)
        return t

    q, k, v = (torch.randn(2, 2, length, 4, requires_grad=True) for _ in range(3))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        chunked_attention(q, k, v).sum().backward()
    assert saved and all(s[-2] * s[-1] != length * length for s in saved)
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        matmul_attention(q, k, v).sum().backward()
    assert any(s[-2:] == (length, length) for s in saved)  # what the chunked kernel avoids


def test_preferred_attention_path_by_dtype_and_length():
    for dtype, short_path, long_path in (
        (torch.float32, "chunked", "sdpa"),
        (torch.bfloat16, "matmul", "chunked"),
    ):
        short = torch.zeros(1, 2, 150, 8, dtype=dtype)
        long = torch.zeros(1, 2, 151, 8, dtype=dtype)
        assert preferred_attention_path(short) == short_path
        assert preferred_attention_path(short.requires_grad_()) == short_path
        assert preferred_attention_path(long) == long_path
        assert preferred_attention_path(long.requires_grad_()) == long_path


@pytest.mark.parametrize("path", ["flash", "math"])
def test_unknown_kernel_is_refused_when_called(path):
    attn = MultiHeadSelfAttention(dim=8, num_heads=2)
    attn.path = path
    with pytest.raises(ValueError, match=f"unknown attention path '{path}'"):
        attn(torch.randn(1, 3, 8))
