"""Tests of the cloudstorages domain."""
