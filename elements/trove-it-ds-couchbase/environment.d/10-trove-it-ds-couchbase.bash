# Couchbase publishes its own repositories through a "couchbase-release"
# package; point DIB_TROVE_IT_COUCHBASE_REPO at a mirror of
# packages.couchbase.com where that host is out of reach.
export DIB_TROVE_IT_DATASTORE_VERSION=${DIB_TROVE_IT_DATASTORE_VERSION:-7.2}
export DIB_TROVE_IT_COUCHBASE_REPO=${DIB_TROVE_IT_COUCHBASE_REPO:-https://packages.couchbase.com}
