# Apache CouchDB's repositories (no distribution ships CouchDB 3).
export DIB_TROVE_IT_DATASTORE_VERSION=${DIB_TROVE_IT_DATASTORE_VERSION:-3.3}
export DIB_TROVE_IT_COUCHDB_REPO=${DIB_TROVE_IT_COUCHDB_REPO:-https://apache.jfrog.io/artifactory}
