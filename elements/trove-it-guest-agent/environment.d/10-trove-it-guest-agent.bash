# Where the Trove guest agent comes from, as one value:
#   pypi:VERSION   the trove release VERSION from PyPI (the default)
#   path:DIR       a local checkout or unpacked sdist on the build host
#   git:URL@REF    a git repository and ref (cloned on the build host by
#                  source-repositories, which the build must then include)
# It is turned into DIB's install type and source-repositories overrides
# here, so the element also works with a bare disk-image-create.
export DIB_TROVE_IT_GUEST_AGENT=${DIB_TROVE_IT_GUEST_AGENT:-pypi:26.0.0}
export TROVE_IT_AGENT_VENV=/opt/guest-agent-venv

case "$DIB_TROVE_IT_GUEST_AGENT" in
    pypi:?*)
        export DIB_INSTALLTYPE_trove_it_guest_agent=pypi
        export TROVE_IT_AGENT_PYPI_VERSION=${DIB_TROVE_IT_GUEST_AGENT#pypi:}
        ;;
    path:/?*)
        export DIB_INSTALLTYPE_trove_it_guest_agent=path
        export TROVE_IT_AGENT_PATH=${DIB_TROVE_IT_GUEST_AGENT#path:}
        ;;
    git:?*@?*)
        _trove_it_git=${DIB_TROVE_IT_GUEST_AGENT#git:}
        export DIB_INSTALLTYPE_trove_it_guest_agent=source
        export DIB_REPOLOCATION_trove_it_guest_agent=${_trove_it_git%@*}
        export DIB_REPOREF_trove_it_guest_agent=${_trove_it_git##*@}
        unset _trove_it_git
        ;;
    *)
        echo "DIB_TROVE_IT_GUEST_AGENT must be pypi:VERSION, path:/ABSOLUTE/DIR or" \
             "git:URL@REF, not '$DIB_TROVE_IT_GUEST_AGENT'" >&2
        return 1
        ;;
esac
