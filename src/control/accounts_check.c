/*
 * accounts_check.c - accounts_second_factor_check (accounts.h): a signed-in
 * user proves the second factor again before turning 2FA off (DELETE
 * /v1/me/totp), with accounts_login's throttle, so a stolen session cannot
 * guess its way to switching 2FA off.  Relies on accounts_internal.h
 * (the throttle, acc_second_factor).
 */
#include "accounts_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int accounts_second_factor_check(struct accounts *acc, const char *name, const char *code,
				 const char *source, int64_t now, int64_t *retry_after,
				 struct control_error *e)
{
	char src_key[ACC_THROTTLE_KEY_MAX], tname[ACCOUNTS_NAME_MAX + 1];
	struct acc_user u;
	int64_t wait;
	int ret;

	if (retry_after)
		*retry_after = 0;
	snprintf(tname, sizeof(tname), "%s", name);
	acc_throttle_source_key(source, src_key, sizeof(src_key));
	pthread_mutex_lock(&acc->lock);
	wait = acc_throttle_wait(acc, tname, src_key, now);
	pthread_mutex_unlock(&acc->lock);
	if (wait > 0) {
		if (retry_after)
			*retry_after = wait;
		control_error_set(e, NULL, "too many wrong codes; try again in %lld s",
				  (long long)wait);
		return -EAGAIN;
	}
	ret = acc_user_load(acc, name, &u, NULL, e);
	if (ret < 0)
		return ret;
	if (!u.totp_enabled) {
		acc_user_free(&u);
		control_error_set(e, NULL, "2FA is not on for user \"%s\"", tname);
		return -ENOENT;
	}
	ret = code && *code ? acc_second_factor(acc, u.name, u.generation, code, now, NULL) :
			      -EACCES;
	acc_user_free(&u);
	if (ret == -EACCES) {
		acc_throttle_failed(acc, name, source, now, e);
		control_error_set(e, "code", "wrong code");
	} else if (ret < 0) {
		acc_store_error(e, "checking the code", ret);
	}
	return ret;
}
