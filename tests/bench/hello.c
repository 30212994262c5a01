/*
 * The benchmark's baseline: the smallest useful FastCGI responder, run
 * behind the same nginx as cellar.  Whatever cellar costs on top of this
 * is cellar's own.
 */
#include <stdio.h>

#include <fcgiapp.h>

int
main(void)
{
	static const char reply[] =
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 15\r\n"
	    "\r\n"
	    "{\"status\":\"ok\"}";
	FCGX_Request	 req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
