"""One module per billing operation. Each declares itself with @operation; the registry
(shared.runtime.registry) discovers them, so adding a module is all it takes."""
