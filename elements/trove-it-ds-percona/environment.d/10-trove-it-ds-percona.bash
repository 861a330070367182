# Percona's release series (8.0 or 8.4) and the repository base URL;
# point DIB_TROVE_IT_PERCONA_REPO at a mirror where repo.percona.com is out
# of reach.
export DIB_TROVE_IT_DATASTORE_VERSION=${DIB_TROVE_IT_DATASTORE_VERSION:-8.0}
export DIB_TROVE_IT_PERCONA_REPO=${DIB_TROVE_IT_PERCONA_REPO:-http://repo.percona.com}
