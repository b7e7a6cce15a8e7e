"""The README's commands and example are the newcomer's first contact: keep them true."""
import re
from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_starts_with_the_install_and_run_command_then_the_test_command():
    commands = re.findall(r"```sh\n(.+?)\n", README)
    assert commands[0] == "pip install . && dl train examples/fashion_mnist/lenet.toml"
    assert commands[1] == 'pip install -e ".[test]" && python -m pytest'
    assert (Path(__file__).parents[1] / "examples/fashion_mnist/lenet.toml").is_file()


def test_readme_python_example_runs():
    (example,) = re.findall(r"```python\n(.+?)```", README, flags=re.S)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["loss"].requires_grad and namespace["model"][0].weight.grad is not None
