domain=$1
echo "DOMAINNAME=$(domainname 2>/dev/null)"
if [ -d "/var/yp/$domain" ]; then
    echo "DOMAIN_DIR=1"
    maps=""
    for map in "/var/yp/$domain"/*; do [ -e "$map" ] && maps="$maps ${map##*/}"; done
    echo "MAPS=$maps"
fi
