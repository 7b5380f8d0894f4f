#!/usr/bin/env bash
# Refresh api/static/vendor from the npm packages pinned in web/package-lock.json.
# Run after changing web/package.json; the copied files are committed, so installing
# the product needs neither npm nor the network.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
out=../api/static/vendor
rm -rf "$out" && mkdir -p "$out/katex/fonts" "$out/katex/contrib" "$out/swagger-ui" "$out/cytoscape"
cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css node_modules/katex/LICENSE "$out/katex/"
cp node_modules/katex/dist/contrib/auto-render.min.js "$out/katex/contrib/"
cp node_modules/katex/dist/fonts/*.woff2 "$out/katex/fonts/"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
   node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE "$out/swagger-ui/"
cp node_modules/cytoscape/dist/cytoscape.min.js node_modules/cytoscape/LICENSE "$out/cytoscape/"
# The bundle names a source map that is not shipped.
sed -i '/^\/\/# sourceMappingURL=/d' "$out/swagger-ui/swagger-ui-bundle.js"
echo "vendored into $out:" && du -sh "$out"/*
