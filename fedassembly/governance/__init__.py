"""Pure governance core: methods, tallies, delegation, council aggregation. No I/O."""
