"""The documents the P2E outputs cite, and the Alma routes they give, in one place.

Every Alma screen, job or route named in a next step or README comes from one of these pages
(read through the stored Ex Libris Knowledge Center and CARLI pages); where a route could not be
confirmed there, the text says so instead of guessing a name.
"""
from __future__ import annotations

GUIDE = "https://www.carli.illinois.edu/node/5903"
KNOWLEDGE = "https://knowledge.exlibrisgroup.com/Alma"
POST_MIGRATION_CLEANUP = f"{KNOWLEDGE}/Knowledge_Articles/Post_migration_clean-up_of_eResources_in_Alma"
MANAGING_ELECTRONIC_RESOURCES = (
    f"{KNOWLEDGE}/Product_Documentation/010Alma_Online_Help_(English)/040Resource_Management/050Inventory/"
    "020Managing_Electronic_Resources"
)
ADD_LOCAL_COLLECTION = MANAGING_ELECTRONIC_RESOURCES + "#Adding_a_Local_Electronic_Collection"
MANAGING_LOCAL_PORTFOLIOS = MANAGING_ELECTRONIC_RESOURCES + "#Managing_Local_Portfolios"
MANUAL_JOBS = (
    f"{KNOWLEDGE}/Product_Documentation/010Alma_Online_Help_(English)/050Administration/070Managing_Jobs/"
    "020Manual_Jobs_on_Defined_Sets"
)
PORTFOLIO_LOADER = (
    f"{KNOWLEDGE}/Best_Practices_and_How-Tos/Electronic_Resource_Management_and_the_Community_Zone/How_Tos/"
    "How_to_Maintain_an_Electronic_Collection_Using_Portfolio_Loader"
)
E_INVENTORY = (
    f"{KNOWLEDGE}/Product_Documentation/010Alma_Online_Help_(English)/080Analytics/Alma_Analytics_Subject_Areas/"
    "E-Inventory"
)
SEARCHING_PO_LINES = (
    f"{KNOWLEDGE}/Product_Documentation/010Alma_Online_Help_(English)/020Acquisitions/020Purchasing/"
    "020Searching_for_PO_Lines"
)
CLOSING_CANCELLING_RELINKING = (
    f"{KNOWLEDGE}/Product_Documentation/010Alma_Online_Help_(English)/020Acquisitions/050Purchasing/"
    "040Creating_PO_Lines_-_New_Layout/Closing%2F%2FCancelling%2C_Reopening%2C_and_Relinking_PO_Lines"
)
ORBIS_CASCADE_FAQ = (
    "https://dev.orbiscascade.org/programs/scts/technical-services/documentation/faq-non-serial-e-resources-cz-vs-nz"
)
