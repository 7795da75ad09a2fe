"""The process-wide LLVM machinery: one MCJIT engine, symbol registration."""
