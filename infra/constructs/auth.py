"""Cognito: the user pool declared in ``contracts.topology.COGNITO`` and the API's authorizer.

- Groups ``office``, ``companion`` and ``school-<school_id>`` for every school in
  ``contracts.reference.SCHOOLS`` (from the topology), assigned by the office (no self sign-up).
- Staff see minors' personal data: strong passwords, TOTP MFA required, threat protection enforced.
- One public app client for the web form (``USER_PASSWORD_AUTH`` over TLS, no secret: a browser
  cannot keep one). It may read ``custom:companion_id`` but **not write** it: a user could
  otherwise make themselves another companion. It must be able to write every *required* attribute
  of the pool (``email``), or Cognito refuses to create the client and the stack rolls back.
  ID tokens live one hour.
- :meth:`Auth.authorizer` is the ``COGNITO_USER_POOLS`` authorizer for every non-public method.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from contracts import topology as topo

ID_TOKEN_VALIDITY = Duration.hours(1)
REFRESH_TOKEN_VALIDITY = Duration.hours(12)
MIN_PASSWORD_LENGTH = 12


class Auth(Construct):
    """User pool, groups and the web app client of one stage."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, spec: topo.UserPool = topo.COGNITO
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"avdual-{stage}-{spec.name}",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            sign_in_case_sensitive=False,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            custom_attributes={
                a: cognito.StringAttribute(min_len=1, max_len=32, mutable=True)
                for a in spec.custom_attributes
            },
            password_policy=cognito.PasswordPolicy(
                min_length=MIN_PASSWORD_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            user_invitation=cognito.UserInvitationConfig(
                email_subject="AV dual: Ihr Zugang",
                email_body="Guten Tag, für die AV dual-Plattform des Bildungsbüros wurde ein Zugang "
                "angelegt. "
                "Benutzername: {username} · vorläufiges Passwort: {####} (3 Tage gültig). Bei der "
                "ersten Anmeldung legen Sie ein eigenes Passwort und die Zwei-Faktor-Anmeldung fest.",
            ),
            user_verification=cognito.UserVerificationConfig(
                email_subject="AV dual: Bestätigungscode",
                email_body="Ihr Bestätigungscode für die AV dual-Plattform lautet {####}.",
                email_style=cognito.VerificationEmailStyle.CODE,
            ),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=stage == "prod",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.groups = {
            g: cognito.CfnUserPoolGroup(
                self,
                f"Group{''.join(p.capitalize() for p in g.split('-'))}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=g,
                description=_group_description(g),
            )
            for g in spec.groups
        }
        self.web_client = self.user_pool.add_client(
            "WebClient",
            user_pool_client_name=spec.client_name,
            generate_secret=False,
            disable_o_auth=True,  # the web form signs in with InitiateAuth; no hosted UI, no redirects
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            prevent_user_existence_errors=True,
            id_token_validity=ID_TOKEN_VALIDITY,
            access_token_validity=ID_TOKEN_VALIDITY,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY,
            enable_token_revocation=True,
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True, preferred_username=True)
            .with_custom_attributes(*spec.custom_attributes),
            # every required attribute of the pool must be writable by the client (else CreateUserPoolClient
            # fails); custom:companion_id stays read-only
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, preferred_username=True
            ),
        )

    def authorizer(self, scope: Construct) -> apigw.CognitoUserPoolsAuthorizer:
        """The API's Cognito authorizer (ID tokens in ``Authorization``), created under ``scope``."""
        return apigw.CognitoUserPoolsAuthorizer(
            scope,
            "CognitoAuthorizer",
            cognito_user_pools=[self.user_pool],
            authorizer_name=f"{self.spec.name}-id-token",
            identity_source="method.request.header.Authorization",
            results_cache_ttl=Duration.minutes(5),
        )


def _group_description(group: str) -> str:
    if group == topo.OFFICE_GROUP:
        return "Bildungsbüro: reads all intakes, manages companions"
    if group == topo.COMPANION_GROUP:
        return "AV dual-Begleiter/in: reads assigned students (custom:companion_id)"
    return f"School staff of {group.removeprefix(topo.SCHOOL_GROUP_PREFIX)}: own school's intakes only"
