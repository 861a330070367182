# Apache Cassandra's release series (4.1 or 5.0) and repositories.
export DIB_TROVE_IT_DATASTORE_VERSION=${DIB_TROVE_IT_DATASTORE_VERSION:-5.0}
export DIB_TROVE_IT_CASSANDRA_REPO=${DIB_TROVE_IT_CASSANDRA_REPO:-https://debian.cassandra.apache.org}
export DIB_TROVE_IT_CASSANDRA_RPM_REPO=${DIB_TROVE_IT_CASSANDRA_RPM_REPO:-https://redhat.cassandra.apache.org}
