"""The example configs of `dl train`, shipped as ``dlcore.examples`` (`dl examples` lists and
copies them); the .toml files are the content, this file only makes them a package."""
