"""Benchmarks (`make bench`) and the bulk seeder they share with the concurrency tests."""
