import { Hono } from "hono";
import { requireViewer } from "../access.js";
import { avatarUrl } from "../avatar-url.js";
import type { HubDeps, HubEnv } from "../hub-env.js";

/** `GET /api/whoami-v2`: the token's user, its orgs and the token's role (spec §4.5). */
export function whoamiRoutes({ store }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();
	routes.get("/api/whoami-v2", (c) => {
		const { user, token } = requireViewer(c.var.viewer);
		const orgs = store.orgs
			.filter((org) => org.members.some((member) => member.user === user.name))
			.map((org) => ({
				type: "org" as const,
				id: org.id,
				name: org.name,
				fullname: org.fullname,
				email: null,
				canPay: false,
				avatarUrl: avatarUrl(org.name),
				periodEnd: null,
				roleInOrg: org.members.find((member) => member.user === user.name)?.role,
			}));
		return c.json({
			type: "user",
			id: user.id,
			name: user.name,
			fullname: user.fullname,
			email: user.email,
			emailVerified: true,
			canPay: false,
			isPro: user.isPro,
			periodEnd: null,
			avatarUrl: avatarUrl(user.name),
			billingMode: "postpaid",
			orgs,
			auth: {
				type: "access_token",
				accessToken: { displayName: token.displayName, role: token.role, createdAt: token.createdAt },
			},
		});
	});
	return routes;
}
