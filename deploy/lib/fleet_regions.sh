# deploy/lib/fleet_regions.sh: the order in which an edge tries the gateways: its own region first, then every
# other deployed region by great-circle distance (haversine on deploy/regions.tsv). Pure: no AWS call.
# Ties (never seen with real coordinates) go by region name, so the order is the same on every machine.

REGIONS_TSV=${REGIONS_TSV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/regions.tsv}

# region_known REGION: 0 when regions.tsv has coordinates for it.
region_known() { awk -F'\t' -v r="$1" '$1 == r { f = 1 } END { exit !f }' "$REGIONS_TSV"; }

# regions_by_distance FROM REGION...: prints FROM, then the others (FROM itself and repeats dropped)
# nearest first, one per line with the distance in km: "eu-west-2 464". Exit 1 with a one-line error
# when a region has no coordinates.
regions_by_distance() {
    local from=$1 r
    for r in "$@"; do
        region_known "$r" || {
            printf 'regions: no coordinates for region %s in %s (add a line: region, latitude, longitude)\n' "$r" "$REGIONS_TSV" >&2
            return 1
        }
    done
    shift
    printf '%s 0\n' "$from"
    printf '%s\n' "$@" | awk -F'\t' -v from="$from" -v tsv="$REGIONS_TSV" '
        BEGIN {
            while ((getline line < tsv) > 0) {
                if (line ~ /^#/ || line == "") continue
                split(line, f, "\t"); lat[f[1]] = f[2]; lon[f[1]] = f[3]
            }
            pi = atan2(0, -1)
        }
        function rad(d) { return d * pi / 180 }
        function km(a, b,   dlat, dlon, h) {
            dlat = rad(lat[b] - lat[a]); dlon = rad(lon[b] - lon[a])
            h = sin(dlat / 2) ^ 2 + cos(rad(lat[a])) * cos(rad(lat[b])) * sin(dlon / 2) ^ 2
            return 2 * 6371 * atan2(sqrt(h), sqrt(1 - h))
        }
        $0 == "" || $0 == from || ($0 in seen) { next }
        { seen[$0] = 1; printf "%s %d\n", $0, km(from, $0) + 0.5 }' | sort -k2,2n -k1,1
}
