# MySQL release series: Ubuntu and CentOS ship 8.0; on Debian it comes
# from Oracle's repository (component mysql-8.0 or mysql-8.4-lts).
export DIB_TROVE_IT_DATASTORE_VERSION=${DIB_TROVE_IT_DATASTORE_VERSION:-8.0}
export DIB_TROVE_IT_MYSQL_REPO=${DIB_TROVE_IT_MYSQL_REPO:-http://repo.mysql.com/apt/debian}
