"""Writers: run folders, atomic files, the text-only xlsx writer and the CSV writers."""
from almaclean.write.atomic import atomic_path, new_run_folder
from almaclean.write.csvfile import write_csv, write_csv_for_people, write_id_set
from almaclean.write.xlsx import Sheet, write_workbook

__all__ = ["Sheet", "atomic_path", "new_run_folder", "write_csv", "write_csv_for_people", "write_id_set",
           "write_workbook"]
