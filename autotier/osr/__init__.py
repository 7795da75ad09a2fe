"""On-stack replacement (issue 12): a long interpreted call enters native code at a
hot loop header.  :mod:`.instrument` makes the function's copy with loop probes,
:mod:`.entrycode` the OSR entry of a header (its resume function), :mod:`.state` a
bead's counts, table and the probes' slow path (docs/architecture.md, "On-stack
replacement")."""
