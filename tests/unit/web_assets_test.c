/*
 * web_assets_test.c - the embedded web UI (src/api/web_assets.h, generated
 * by tools/embed.c): every file of web/ is in the table byte for byte with
 * its content type and ETag; lookups take exact names only (no traversal,
 * no case folding, no prefixes); and the pages keep to the UI's CSP (no
 * inline script, event handler or style attribute, nothing loaded from
 * another origin), which a browser would otherwise only show at run time.
 * Run from the repository root (tests/run.sh does), where web/ is.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../src/api/web_assets.h"
#include "test.h"

static void test_table_matches_web_dir(void)
{
	DIR *d = opendir("web");
	struct dirent *de;
	size_t files = 0, n = 0;

	CHECK(d != NULL);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512], etag[19];
		unsigned char md[32], *buf;
		const struct web_asset *a;
		FILE *f;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		files++;
		a = web_asset_find(de->d_name);
		CHECK(a != NULL);
		if (!a) {
			fprintf(stderr, "  web/%s is not embedded (re-run make)\n", de->d_name);
			continue;
		}
		snprintf(path, sizeof(path), "web/%s", de->d_name);
		f = fopen(path, "rb");
		CHECK(f != NULL);
		if (!f)
			continue;
		buf = malloc(a->len + 2);
		len = fread(buf, 1, a->len + 1, f);
		fclose(f);
		CHECK_INT(len, a->len);
		CHECK(len == a->len && !memcmp(buf, a->data, len));
		CHECK_INT(a->data[a->len], 0);
		CHECK(EVP_Digest(a->data, a->len, md, NULL, EVP_sha256(), NULL));
		etag[0] = '"';
		for (int i = 0; i < 8; i++)
			sprintf(etag + 1 + 2 * i, "%02x", md[i]);
		strcpy(etag + 17, "\"");
		CHECK(!strcmp(a->etag, etag));
		free(buf);
	}
	closedir(d);
	while (web_asset_at(n))
		n++;
	CHECK_INT(n, files);
	CHECK(files >= 5);
}

static void test_exact_names_only(void)
{
	static const char *const bad[] = {
		"", "/", "/index.html", "index.html/", "./index.html", "../index.html",
		"web/index.html", "INDEX.HTML", "index.htm", "index.html ", " index.html",
		"index.html%00", "assets/app.js", "/assets/app.js", "..", ".", "app.js/..",
		"..%2fapp.js", "app.js?x", "app.js#x",
	};

	CHECK(web_asset_find(NULL) == NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (web_asset_find(bad[i]))
			fprintf(stderr, "  \"%s\" found\n", bad[i]);
		CHECK(web_asset_find(bad[i]) == NULL);
	}
	CHECK(web_asset_find("index.html") != NULL);
	CHECK(web_asset_find("link.html") != NULL);
	CHECK(web_asset_find("app.js") != NULL);
	CHECK(web_asset_find("app.css") != NULL);
	CHECK(web_asset_find("link.js") != NULL);
	CHECK(web_asset_at((size_t)-1) == NULL);
}

static void test_content_types(void)
{
	for (size_t i = 0; web_asset_at(i); i++) {
		const struct web_asset *a = web_asset_at(i);
		const char *ext = strrchr(a->name, '.');

		CHECK(ext != NULL);
		if (!ext)
			continue;
		if (!strcmp(ext, ".html"))
			CHECK(!strcmp(a->content_type, "text/html; charset=utf-8"));
		else if (!strcmp(ext, ".js"))
			CHECK(!strcmp(a->content_type, "text/javascript; charset=utf-8"));
		else if (!strcmp(ext, ".css"))
			CHECK(!strcmp(a->content_type, "text/css; charset=utf-8"));
		CHECK(strchr(a->name, '/') == NULL);
		/* Sorted by name: the table is the same on every build. */
		if (i)
			CHECK(strcmp(web_asset_at(i - 1)->name, a->name) < 0);
	}
}

/* Case-insensitive strstr (HTML attribute names are). */
static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

/* The HTML pages against the CSP default-src 'self'; script-src 'self';
 * style-src 'self': every <script> has a src under /assets/, no inline
 * handler (on...=) or style= attribute, no javascript: URL, nothing from
 * another origin, and every /assets/ name they use exists. */
static void test_pages_keep_to_the_csp(void)
{
	for (size_t i = 0; web_asset_at(i); i++) {
		const struct web_asset *a = web_asset_at(i);
		const char *s = (const char *)a->data, *p;

		if (!strstr(a->name, ".html"))
			continue;
		for (p = find_ci(s, "<script"); p; p = find_ci(p + 1, "<script")) {
			const char *end = strchr(p, '>');
			const char *src = find_ci(p, " src=\"/assets/");
			CHECK(end && src && src < end);
			if (!(end && src && src < end))
				fprintf(stderr, "  %s: inline <script> at offset %td\n", a->name, p - s);
		}
		for (p = s; *p; p++) {
			/* " onclick=" and the like inside a tag */
			if ((p[0] == ' ' || p[0] == '\n') && (p[1] == 'o' || p[1] == 'O') &&
			    (p[2] == 'n' || p[2] == 'N')) {
				const char *q = p + 3;
				while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
					q++;
				if (q > p + 3 && *q == '=') {
					fprintf(stderr, "  %s: event handler attribute at offset %td\n",
						a->name, p - s);
					CHECK(false);
				}
			}
		}
		CHECK(find_ci(s, " style=") == NULL);
		CHECK(find_ci(s, "<style") == NULL);
		CHECK(find_ci(s, "javascript:") == NULL);
		CHECK(find_ci(s, "http://") == NULL);
		CHECK(find_ci(s, "https://") == NULL);
		CHECK(find_ci(s, "src=\"//") == NULL && find_ci(s, "href=\"//") == NULL);
		for (p = strstr(s, "\"/assets/"); p; p = strstr(p + 1, "\"/assets/")) {
			char name[64];
			size_t n = strcspn(p + 9, "\"");
			CHECK(n > 0 && n < sizeof(name));
			if (n == 0 || n >= sizeof(name))
				continue;
			memcpy(name, p + 9, n);
			name[n] = '\0';
			if (!web_asset_find(name))
				fprintf(stderr, "  %s uses /assets/%s, which is not embedded\n", a->name, name);
			CHECK(web_asset_find(name) != NULL);
		}
	}
}

/* The scripts never turn server text into HTML. */
static void test_scripts_build_no_html(void)
{
	static const char *const banned[] = {
		"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
		"new Function", "setTimeout('", "setTimeout(\"", ".style.cssText", "localStorage",
	};

	for (size_t i = 0; web_asset_at(i); i++) {
		const struct web_asset *a = web_asset_at(i);

		if (!strstr(a->name, ".js"))
			continue;
		for (size_t k = 0; k < sizeof(banned) / sizeof(banned[0]); k++) {
			if (strstr((const char *)a->data, banned[k]))
				fprintf(stderr, "  %s uses %s\n", a->name, banned[k]);
			CHECK(strstr((const char *)a->data, banned[k]) == NULL);
		}
	}
}

int main(void)
{
	RUN(test_table_matches_web_dir);
	RUN(test_exact_names_only);
	RUN(test_content_types);
	RUN(test_pages_keep_to_the_csp);
	RUN(test_scripts_build_no_html);
	TEST_EXIT();
}
