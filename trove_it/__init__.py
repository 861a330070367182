"""trove-it: pytest integration and scenario test harness for OpenStack Trove."""
