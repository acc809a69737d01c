# Sourced by the project's scripts: find_java prints the java of a JDK 25 or newer installed here
# (JAVA_HOME, /usr/lib/jvm, /opt, SDKMAN, ~/.jdks, macOS), or fails.

java_version() { # major version of a JDK home, from its release file
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}

find_java() {
    local home v
    for home in "${JAVA_HOME:-}" /usr/lib/jvm/* /usr/local/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* \
            "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [ -n "$home" ] && [ -x "$home/bin/java" ] || continue
        v=$(java_version "$home")
        if [ "${v:-0}" -ge 25 ]; then
            echo "$home/bin/java"
            return 0
        fi
    done
    echo "a JDK 25 or newer is needed: none found in JAVA_HOME, /usr/lib/jvm, /opt, SDKMAN or ~/.jdks." >&2
    return 1
}
