# MongoDB's release series and repository; Debian dropped MongoDB when
# it moved to the SSPL, so every distribution uses MongoDB's repository.
export DIB_TROVE_IT_DATASTORE_VERSION=${DIB_TROVE_IT_DATASTORE_VERSION:-7.0}
export DIB_TROVE_IT_MONGODB_REPO=${DIB_TROVE_IT_MONGODB_REPO:-https://repo.mongodb.org}
